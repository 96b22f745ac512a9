// glibc_query NAME: glibc's res_search(NAME, IN, A) (libresolv), which reads /etc/resolv.conf. Prints
// "ok ANCOUNT" or "fail H_ERRNO". Run only by fidelity_test, inside the private namespace that
// run_in_namespace.sh sets up, where /etc/resolv.conf is the test's own file.
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  unsigned char answer[4096] = {};  // res_search reads the last reply's rcode from here, even after a timeout
  const int n = res_search(argv[1], ns_c_in, ns_t_a, answer, sizeof answer);
  if (n < 0) {
    std::printf("fail %d\n", h_errno);
    return 1;
  }
  std::printf("ok %d\n", n >= 12 ? (answer[6] << 8 | answer[7]) : -1);
  return 0;
}
