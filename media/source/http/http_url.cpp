// http_url.cpp — see http_url.hpp.
#include "media/source/http/http_url.hpp"

#include "media/source/http/http_error.hpp"
#include "media/text.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

namespace joincast::media {

namespace {

bool valid_target_char(char c) {
  // Anything printable except space; bytes >= 0x80 are percent-encoded by
  // the caller of parse() below.
  return c > 0x20 && c < 0x7f;
}

// Percent-encodes bytes that may not appear in a request target (spaces
// and non-ASCII in URLs from playlists are common).
std::string encode_target(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (valid_target_char(c)) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 15];
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!default_port()) h += ":" + std::to_string(port);
  return h;
}

std::string Url::to_string() const { return scheme + "://" + authority() + target; }

Result<Url> Url::parse(std::string_view text) {
  text = trim(text);
  auto colon = text.find("://");
  if (colon == std::string_view::npos || colon == 0) return make_error_code(SourceErrc::bad_url);
  Url url;
  url.scheme = ascii_lower(text.substr(0, colon));
  if (url.scheme == "icy") url.scheme = "http";
  if (url.scheme != "http" && url.scheme != "https") return make_error_code(SourceErrc::unsupported_scheme);
  std::string_view rest = text.substr(colon + 3);
  auto hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  auto end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) return make_error_code(SourceErrc::bad_url);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error_code(SourceErrc::bad_url);
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error_code(SourceErrc::bad_url);
      port = after.substr(1);
    }
  } else {
    auto c = authority.rfind(':');
    if (c != std::string_view::npos) {
      host = authority.substr(0, c);
      port = authority.substr(c + 1);
    }
  }
  if (host.empty() || host.size() > 253) return make_error_code(SourceErrc::bad_url);
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || c == ':' || c == '%';
    if (!ok) return make_error_code(SourceErrc::bad_url);
  }
  url.host = ascii_lower(host);
  if (port.empty()) {
    url.port = url.tls() ? 443 : 80;
  } else {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return make_error_code(SourceErrc::bad_url);
    url.port = static_cast<std::uint16_t>(value);
  }
  std::string t = encode_target(target);
  if (t.empty() || t.front() == '?') t = "/" + t;
  url.target = t;
  return url;
}

std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  bool absolute = !path.empty() && path.front() == '/';
  bool trailing = false;
  std::size_t i = absolute ? 1 : 0;
  while (i <= path.size()) {
    auto slash = path.find('/', i);
    std::string_view seg = path.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i);
    trailing = false;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing = true;
    } else if (seg == ".") {
      trailing = true;
    } else {
      out.push_back(seg);
    }
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  std::string result = absolute ? "/" : "";
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (k) result += '/';
    result += out[k];
  }
  if (trailing && (result.empty() || result.back() != '/')) result += '/';
  return result;
}

Result<Url> Url::resolve(std::string_view reference) const {
  reference = trim(reference);
  auto hash = reference.find('#');
  if (hash != std::string_view::npos) reference = reference.substr(0, hash);
  // A scheme (letters, then "://") makes it absolute.
  auto colon = reference.find("://");
  if (colon != std::string_view::npos && colon > 0 &&
      reference.substr(0, colon).find_first_of("/?") == std::string_view::npos)
    return parse(reference);
  if (reference.starts_with("//")) return parse(scheme + ":" + std::string(reference));
  Url out = *this;
  if (reference.empty()) return out;
  std::string path = target.substr(0, target.find('?'));
  if (reference.front() == '?') {
    out.target = path + encode_target(reference);
    return out;
  }
  std::string_view ref_path = reference.substr(0, reference.find('?'));
  std::string_view ref_query =
      reference.find('?') == std::string_view::npos ? std::string_view() : reference.substr(reference.find('?'));
  std::string merged;
  if (ref_path.front() == '/') {
    merged = std::string(ref_path);
  } else {
    merged = path.substr(0, path.rfind('/') + 1) + std::string(ref_path);
  }
  out.target = encode_target(remove_dot_segments(merged) + std::string(ref_query));
  if (out.target.empty() || out.target.front() != '/') out.target = "/" + out.target;
  return out;
}

}  // namespace joincast::media
