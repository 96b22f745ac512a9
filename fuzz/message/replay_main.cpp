// The shared replay main (fuzz/replay_main.cpp): svcres_add_fuzzer looks for it in the calling folder.
#include "../replay_main.cpp"
