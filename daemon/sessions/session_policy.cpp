// session_policy.cpp — see session_policy.hpp.
#include "daemon/sessions/session_policy.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace joincast::daemon::sessions {

namespace {

bool bit(const std::uint8_t* bytes, unsigned i) { return (bytes[i / 8] >> (7 - i % 8)) & 1; }

}  // namespace

bool AllowPrefix::contains(const boost::asio::ip::address& group) const {
  if (group.is_v6() != v6) return false;
  std::array<std::uint8_t, 16> g{};
  if (v6) {
    auto b = group.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), g.begin());
  } else {
    auto b = group.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), g.begin());
  }
  for (unsigned i = 0; i < length; ++i)
    if (bit(bytes.data(), i) != bit(g.data(), i)) return false;
  return true;
}

Result<AllowItem> parse_allow(const std::string& item) {
  auto refused = [&] {
    return invalid(fmt::format("\"{}\" is not \"all\", \"internet\", \"dvb\", \"directory:NAME\" or a group prefix", item));
  };
  if (item == "all") return AllowItem{AllowAll{}};
  if (item == "internet") return AllowItem{AllowInternet{}};
  if (item == "dvb") return AllowItem{AllowDvb{}};
  if (item.rfind("directory:", 0) == 0) {
    if (item.size() <= 10) return refused();
    return AllowItem{AllowDirectory{item.substr(10)}};
  }
  auto slash = item.find('/');
  if (slash == std::string::npos) return refused();
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(item.substr(0, slash), ec);
  if (ec || !a.is_multicast()) return refused();
  int len = -1;
  try {
    len = std::stoi(item.substr(slash + 1));
  } catch (...) {
    return refused();
  }
  if (len < 0 || len > (a.is_v6() ? 128 : 32)) return refused();
  AllowPrefix p;
  p.v6 = a.is_v6();
  p.length = static_cast<unsigned>(len);
  if (p.v6) {
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), p.bytes.begin());
  } else {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), p.bytes.begin());
  }
  return AllowItem{p};
}

bool allows(const PolicyRule& rule, const PolicySubject& s) {
  struct Match {
    const PolicySubject& s;
    bool operator()(const AllowAll&) const { return true; }
    bool operator()(const AllowInternet&) const { return !s.dvb; }
    bool operator()(const AllowDvb&) const { return s.dvb; }
    bool operator()(const AllowDirectory& d) const { return !s.dvb && d.name == s.directory; }
    bool operator()(const AllowPrefix& p) const { return p.contains(s.group); }
  };
  return std::any_of(rule.allow.begin(), rule.allow.end(),
                     [&](const AllowItem& a) { return std::visit(Match{s}, a); });
}

Result<void> policy_allows(const std::vector<PolicyRule>& policies, const PolicySubject& subject,
                           const std::vector<std::string>& interfaces) {
  if (policies.empty()) return success();
  std::vector<std::string> refused;
  for (const std::string& name : interfaces) {
    const PolicyRule* rule = nullptr;
    for (const auto& p : policies)  // the last policy naming the interface decides
      if (std::find(p.interfaces.begin(), p.interfaces.end(), name) != p.interfaces.end()) rule = &p;
    if (!rule || allows(*rule, subject)) return success();  // one allowed interface is enough
    refused.push_back(fmt::format("{} ({})", name, rule->origin));
  }
  std::string list;
  for (const auto& r : refused) list += (list.empty() ? "" : ", ") + r;
  return Error(std::errc::permission_denied, fmt::format("the policy of {} does not allow starting {}", list,
                                                        subject.dvb ? "DVB services" : subject.directory));
}

}  // namespace joincast::daemon::sessions
