// legacy_unicast.hpp — answers to legacy unicast queries across zones
// (RFC 6762 §6.7). A query from a source port other than 5353 comes from a
// simple resolver (dig, a unicast-mode library) that waits for one
// unicast reply on that port and knows nothing of mDNS. The relay carries
// its allowed questions into the other zone as an ordinary multicast
// query and turns each response it gets for them into the reply such a
// resolver expects: the query's ID, its question section repeated, no
// cache-flush bits, TTLs of at most 10 s, sent by unicast from port 5353.
#pragma once

#include "daemon/lan/mdns/dns_message.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace joincast::daemon::lan::mdns {

// §6.7: "the TTL given for the records ... SHOULD NOT be greater than ten seconds".
constexpr std::uint32_t legacy_ttl_cap = 10;

// True if `r` answers `q` (same name; its type, ANY, or an NSEC saying
// there is none).
bool answers(const Question& q, const Record& r);

// The reply to a legacy query with `id` and `questions` made of `response`
// (already filtered for the querier's zone): the records that answer a
// question in the answer section, the others as additional records;
// nothing if no record answers.
std::optional<Message> legacy_reply(std::uint16_t id, const std::vector<Question>& questions, const Message& response);

}  // namespace joincast::daemon::lan::mdns
