#pragma once
// The umbrella header: everything a user of svcres needs.

#include "svcres/core/clock.hpp"
#include "svcres/core/endpoint.hpp"
#include "svcres/core/errc.hpp"
#include "svcres/core/fixed_vector.hpp"
#include "svcres/core/ip_address.hpp"
#include "svcres/core/random.hpp"
#include "svcres/core/result.hpp"
#include "svcres/dns/limits.hpp"
#include "svcres/dns/message.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/dns/types.hpp"
#include "svcres/dns/writer.hpp"
