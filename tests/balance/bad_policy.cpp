// Compiled by ctest only, expecting failure: the error must be the library's sentence.
#include "svcres/balance/policy.hpp"
#include "svcres/table/endpoint_table.hpp"

struct NotAPolicy {
  int choose() { return 0; }
};

int main() { return svcres::require_policy<NotAPolicy, svcres::EndpointTable<4>::Snapshot>() ? 0 : 1; }
