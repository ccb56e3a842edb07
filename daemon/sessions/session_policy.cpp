// session_policy.cpp — see session_policy.hpp.
#include "daemon/sessions/session_policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace joincast::daemon {

namespace {

bool prefix_contains(const std::string& prefix, const boost::asio::ip::address& a) {
  auto slash = prefix.find('/');
  boost::system::error_code ec;
  auto base = boost::asio::ip::make_address(prefix.substr(0, slash), ec);
  if (ec || base.is_v6() != a.is_v6()) return false;
  unsigned len = static_cast<unsigned>(std::stoul(prefix.substr(slash + 1)));
  auto bytes = [](const boost::asio::ip::address& x) {
    std::vector<std::uint8_t> v;
    if (x.is_v6()) {
      auto b = x.to_v6().to_bytes();
      v.assign(b.begin(), b.end());
    } else {
      auto b = x.to_v4().to_bytes();
      v.assign(b.begin(), b.end());
    }
    return v;
  };
  auto p = bytes(base), q = bytes(a);
  for (unsigned i = 0; i < len; ++i)
    if (((p[i / 8] >> (7 - i % 8)) & 1) != ((q[i / 8] >> (7 - i % 8)) & 1)) return false;
  return true;
}

}  // namespace

std::optional<std::string> policy_refusal(const std::vector<PolicyRule>& policies, const PolicySubject& e,
                                          const std::vector<std::string>& interfaces) {
  if (policies.empty()) return std::nullopt;
  bool dvb = e.dvb;
  auto allows = [&](const PolicyRule& p) {
    for (const auto& a : p.allow) {
      if (a == "all") return true;
      if (a == "dvb" && dvb) return true;
      if (a == "internet" && !dvb) return true;
      if (a.rfind("directory:", 0) == 0 && !dvb && a.substr(10) == e.directory) return true;
      if (a.find('/') != std::string::npos && prefix_contains(a, e.group)) return true;
    }
    return false;
  };
  std::vector<std::string> refused;
  for (const std::string& name : interfaces) {
    const PolicyRule* rule = nullptr;
    for (const auto& p : policies)
      if (std::find(p.interfaces.begin(), p.interfaces.end(), name) != p.interfaces.end()) rule = &p;
    if (!rule || allows(*rule)) return std::nullopt;  // one allowed interface is enough
    refused.push_back(fmt::format("{} ({})", name, rule->origin));
  }
  std::string list;
  for (const auto& r : refused) list += (list.empty() ? "" : ", ") + r;
  return fmt::format("the policy of {} does not allow starting {}", list, dvb ? "DVB services" : e.directory);
}

}  // namespace joincast::daemon
