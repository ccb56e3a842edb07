// group_block.cpp — see group_block.hpp.
#include "daemon/routing/group_block.hpp"

#include <algorithm>
#include <charconv>

namespace joincast::daemon::routing {


namespace {

std::optional<std::uint32_t> parse_id(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  auto colon = s.find(':');
  if (colon != std::string_view::npos) {
    // "hhhh:llll", as the id reads in the group's text form.
    std::string_view hi = s.substr(0, colon), lo = s.substr(colon + 1);
    if (hi.empty() || lo.empty() || hi.size() > 4 || lo.size() > 4) return std::nullopt;
    std::uint32_t h = 0, l = 0;
    auto r1 = std::from_chars(hi.data(), hi.data() + hi.size(), h, 16);
    auto r2 = std::from_chars(lo.data(), lo.data() + lo.size(), l, 16);
    if (r1.ec != std::errc() || r1.ptr != hi.data() + hi.size() || r2.ec != std::errc() ||
        r2.ptr != lo.data() + lo.size())
      return std::nullopt;
    return (h << 16) | l;
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    begin += 2;
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(begin, end, value, base);
  if (ec != std::errc() || ptr != end || value > 0xffffffffu) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

}  // namespace

std::optional<GroupIdRange> parse_group_id_range(std::string_view text) {
  auto dash = text.find('-');
  auto first = parse_id(text.substr(0, dash));
  if (!first) return std::nullopt;
  if (dash == std::string_view::npos) return GroupIdRange{*first, *first};
  auto last = parse_id(text.substr(dash + 1));
  if (!last || *last < *first) return std::nullopt;
  return GroupIdRange{*first, *last};
}

std::vector<std::pair<std::uint32_t, unsigned>> group_id_cidrs(const GroupIdRange& range) {
  std::vector<std::pair<std::uint32_t, unsigned>> out;
  std::uint64_t at = range.first;
  const std::uint64_t end = static_cast<std::uint64_t>(range.last) + 1;
  while (at < end) {
    // The largest aligned block starting at `at` that stays inside.
    unsigned bits = 0;
    while (bits < 32) {
      const std::uint64_t size = std::uint64_t{1} << (bits + 1);
      if (at % size != 0 || at + size > end) break;
      ++bits;
    }
    out.emplace_back(static_cast<std::uint32_t>(at), 32 - bits);
    at += std::uint64_t{1} << bits;
  }
  return out;
}

std::vector<IpPrefix> derive_block_prefixes(const IpPrefix& prefix64, std::span<const GroupIdRange> ranges,
                                            std::uint8_t scope) {
  std::vector<IpPrefix> out;
  for (const auto& r : ranges) {
    for (const auto& [id, len] : group_id_cidrs(r)) out.emplace_back(catalogue::unicast_prefix_group(prefix64, id, scope), 96 + len);
  }
  return out;
}

}  // namespace joincast::daemon::routing
