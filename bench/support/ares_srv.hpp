#pragma once
// The c-ares side of the benchmarks that compare SRV lookups with c-ares (resolve, chaos): one
// ares_query callback that records completion and counts the SRV records of a successful answer.

#include <ares.h>

namespace svcres_bench {

struct AresDone {
  bool done = false;
  int srv = 0;  // SRV records in the answer (0 on any failure)
};

inline void ares_srv_done(void* arg, int status, int, unsigned char* abuf, int alen) {
  auto* d = static_cast<AresDone*>(arg);
  d->done = true;
  if (status != ARES_SUCCESS) return;
  ares_srv_reply* srv = nullptr;
  if (ares_parse_srv_reply(abuf, alen, &srv) == ARES_SUCCESS) {
    for (ares_srv_reply* p = srv; p; p = p->next) ++d->srv;
    ares_free_data(srv);
  }
}

}  // namespace svcres_bench
