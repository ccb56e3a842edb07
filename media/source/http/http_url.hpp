// http_url.hpp — absolute http/https URLs as the HTTP client needs them:
// parsed into scheme, host, port and request target, and references
// (redirect Locations, playlist entries) resolved against a base URL per
// RFC 3986 §5.2. "icy://" (old SHOUTcast playlists) is read as http.
#pragma once

#include "media/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace joincast::media {

struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; an IPv6 literal without brackets
  std::uint16_t port = 0;
  std::string target = "/";  // path and query, never empty; no fragment

  bool tls() const { return scheme == "https"; }
  bool default_port() const { return port == (tls() ? 443 : 80); }
  // "host" or "host:port" (brackets around IPv6 literals), for Host:.
  std::string authority() const;
  std::string to_string() const;

  // An absolute http(s) URL. Userinfo is refused (credentials do not
  // belong in a station URL that ends up in logs).
  static Result<Url> parse(std::string_view text);
  // Resolves a reference (absolute, network-path, absolute-path, relative
  // path or query-only) against this URL.
  Result<Url> resolve(std::string_view reference) const;

  bool operator==(const Url&) const = default;
};

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view path);

}  // namespace joincast::media
