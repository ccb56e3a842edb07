// ssdp_message.hpp — the headers of an SSDP datagram (UPnP Device
// Architecture 2.0 §1.2, §1.3) that say which device is where: a NOTIFY
// (ssdp:alive / byebye / update) or an M-SEARCH answer. Outside bytes:
// every field is bounded, nothing is trusted.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace joincast::daemon::lan::ssdp {

struct SsdpMessage {
  enum class Kind { notify, search, response };
  Kind kind = Kind::notify;
  std::string nts;       // NOTIFY: "ssdp:alive", "ssdp:byebye", "ssdp:update"
  std::string nt;        // NOTIFY's NT, a response's ST, a search's ST
  std::string usn;
  std::string server;
  std::string location;
  unsigned max_age = 0;  // CACHE-CONTROL: max-age=N, seconds; 0 if absent
};

// Longest header value kept; longer ones are cut.
inline constexpr std::size_t max_ssdp_value = 256;

// nullopt unless the datagram starts with an SSDP request or status line
// and its header lines are well-formed ("Name: value", CRLF or LF).
std::optional<SsdpMessage> parse_ssdp(std::string_view datagram);

}  // namespace joincast::daemon::lan::ssdp
