// svcres_add_fuzzer() looks for replay_main.cpp in the calling folder (CMAKE_CURRENT_SOURCE_DIR
// inside a function is the caller's); this forwards to the shared one.
#include "../replay_main.cpp"
