# Loopback ports of the resolver's test servers (range 15300-15399 is the resolver's).
PORT_NSD=${SVCRES_PORT_NSD:-15301}
PORT_KNOT=15302
PORT_UNBOUND=15303
PORT_DNSMASQ=15304
PORT_BENCH_NSD=15310
# Nothing ever listens here: fault tests use it as "a closed server".
PORT_CLOSED=15399
# Tests that run their own `svcres serve` on a fixed port (the merge test lets the kernel choose).
PORT_CHAOS_SOAK=15351
