// ssdp_message.cpp — see ssdp_message.hpp.
#include "daemon/lan/ssdp/ssdp_message.hpp"

#include <algorithm>
#include <cctype>

namespace joincast::daemon::lan::ssdp {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string bounded(std::string_view v) {
  std::string out(v.substr(0, max_ssdp_value));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';  // no control characters in logs or JSON
  return out;
}

unsigned max_age(std::string_view v) {
  // "max-age=1800", possibly among other directives.
  for (std::size_t i = 0; i + 8 <= v.size(); ++i) {
    if (!iequals(v.substr(i, 8), "max-age=")) continue;
    unsigned long n = 0;
    std::size_t j = i + 8, digits = 0;
    while (j < v.size() && std::isdigit(static_cast<unsigned char>(v[j])) && digits < 9) {
      n = n * 10 + static_cast<unsigned long>(v[j] - '0');
      ++j;
      ++digits;
    }
    return digits ? static_cast<unsigned>(n) : 0;
  }
  return 0;
}

}  // namespace

std::optional<SsdpMessage> parse_ssdp(std::string_view d) {
  std::size_t eol = d.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  std::string_view start = trim(d.substr(0, eol));
  SsdpMessage m;
  if (iequals(start, "NOTIFY * HTTP/1.1")) m.kind = SsdpMessage::Kind::notify;
  else if (iequals(start, "M-SEARCH * HTTP/1.1")) m.kind = SsdpMessage::Kind::search;
  else if (start.size() >= 12 && iequals(start.substr(0, 12), "HTTP/1.1 200")) m.kind = SsdpMessage::Kind::response;
  else return std::nullopt;
  std::string_view rest = d.substr(eol + 1);
  for (int lines = 0; !rest.empty() && lines < 64; ++lines) {
    eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    line = trim(line);
    if (line.empty()) break;  // end of headers
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string_view name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (iequals(name, "NTS")) m.nts = bounded(value);
    else if (iequals(name, "NT") || iequals(name, "ST")) m.nt = bounded(value);
    else if (iequals(name, "USN")) m.usn = bounded(value);
    else if (iequals(name, "SERVER")) m.server = bounded(value);
    else if (iequals(name, "LOCATION")) m.location = bounded(value);
    else if (iequals(name, "CACHE-CONTROL")) m.max_age = max_age(value);
  }
  return m;
}

}  // namespace joincast::daemon::lan::ssdp
