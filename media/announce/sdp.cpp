// sdp.cpp — the SDP writer and the sanitising of network text.
#include "media/announce/sdp.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>

namespace joincast::media {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Decodes one UTF-8 sequence at text[i]; returns its code point and length,
// or code point -1 (length 1) for an invalid byte. Overlong forms,
// surrogates and values above U+10FFFF are invalid (RFC 3629 §3).
std::pair<long, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) return {b0, 1};
  std::size_t len = 0;
  long cp = 0, min = 0;
  if ((b0 & 0xe0) == 0xc0) len = 2, cp = b0 & 0x1f, min = 0x80;
  else if ((b0 & 0xf0) == 0xe0) len = 3, cp = b0 & 0x0f, min = 0x800;
  else if ((b0 & 0xf8) == 0xf0) len = 4, cp = b0 & 0x07, min = 0x10000;
  else return {-1, 1};
  if (i + len > text.size()) return {-1, 1};
  for (std::size_t k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xc0) != 0x80) return {-1, 1};
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {-1, 1};
  return {cp, len};
}

bool is_control(long cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

// RFC 3986 §2: unreserved and reserved characters, plus '%' (we keep
// existing escapes as they are).
bool uri_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string sanitize_sdp_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  bool pending_space = false;
  for (std::size_t i = 0; i < text.size();) {
    auto [cp, len] = decode_utf8(text, i);
    std::string_view piece = cp < 0 ? kReplacement : text.substr(i, len);
    i += len;
    if (cp >= 0 && (is_control(cp) || cp == ' ')) {
      pending_space = !out.empty();
      continue;
    }
    std::size_t need = piece.size() + (pending_space ? 1 : 0);
    if (out.size() + need > max_bytes) break;  // cut before this character, never inside it
    if (pending_space) out += ' ';
    pending_space = false;
    out += piece;
  }
  return out;
}

std::string sanitize_sdp_uri(std::string_view uri, std::size_t max_bytes) {
  // Trim surrounding whitespace and control characters.
  auto junk = [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; };
  while (!uri.empty() && junk(uri.front())) uri.remove_prefix(1);
  while (!uri.empty() && junk(uri.back())) uri.remove_suffix(1);
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  for (std::size_t i = 0; i < colon; ++i) {
    char c = uri[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return {};
  }
  std::string out;
  for (char ch : uri) {
    auto c = static_cast<unsigned char>(ch);
    std::string piece = uri_char(c) ? std::string(1, ch) : fmt::format("%{:02X}", c);
    if (out.size() + piece.size() > max_bytes) return {};  // a cut URI points somewhere else: drop it
    out += piece;
  }
  return out;
}

std::string sdp_address(const boost::asio::ip::address& address) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (address.is_v6()) {
    auto bytes = address.to_v6().to_bytes();
    return inet_ntop(AF_INET6, bytes.data(), buf.data(), buf.size()) ? buf.data() : std::string();
  }
  auto bytes = address.to_v4().to_bytes();
  return inet_ntop(AF_INET, bytes.data(), buf.data(), buf.size()) ? buf.data() : std::string();
}

std::string write_sdp(const SdpSession& s) {
  const char* origin_family = s.origin.is_v6() ? "IP6" : "IP4";
  std::string name = sanitize_sdp_text(s.station_name, kSdpNameMax);
  std::string info = sanitize_sdp_text(s.now_playing, kSdpInfoMax);
  std::string uri = sanitize_sdp_uri(s.url, kSdpUriMax);

  std::string out;
  out.reserve(512 + s.media.fmtp.size());
  auto line = [&](std::string_view text) {
    out += text;
    out += "\r\n";
  };
  // RFC 8866 §5: v o s i u e p c b t r z k a, then per media m i c b k a.
  line("v=0");
  line(fmt::format("o=- {} {} IN {} {}", s.session_id, s.version, origin_family, sdp_address(s.origin)));
  // §5.3: s= must not be empty; a single space says "no name".
  line("s=" + (name.empty() ? std::string(" ") : name));
  if (!info.empty()) line("i=" + info);
  if (!uri.empty()) line("u=" + uri);
  // §5.7: IPv4 multicast carries a TTL; IPv6 must not.
  if (s.group.is_v6())
    line("c=IN IP6 " + sdp_address(s.group));
  else
    line(fmt::format("c=IN IP4 {}/{}", sdp_address(s.group), s.ttl));
  line("t=0 0");
  line("a=tool:joincast");
  line("a=type:broadcast");
  line("a=recvonly");
  line("a=charset:UTF-8");  // §6.10: text fields are UTF-8
  line(fmt::format("m={} {} RTP/AVP {}", s.media.media, s.port, s.media.payload_type));
  if (s.media.channels)
    line(fmt::format("a=rtpmap:{} {}/{}/{}", s.media.payload_type, s.media.encoding, s.media.clock_rate,
                     s.media.channels));
  else
    line(fmt::format("a=rtpmap:{} {}/{}", s.media.payload_type, s.media.encoding, s.media.clock_rate));
  if (!s.media.fmtp.empty()) line(fmt::format("a=fmtp:{} {}", s.media.payload_type, s.media.fmtp));
  return out;
}

std::string sdp_origin_line(std::string_view sdp) {
  // Lines end at LF, CR LF, a bare CR or a NUL (which also ends a SAP
  // payload type): an origin line from the network must come back without
  // any of them inside.
  std::size_t pos = 0;
  while (pos < sdp.size()) {
    auto end = sdp.find_first_of(std::string_view("\r\n\0", 3), pos);
    auto line = sdp.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (line.starts_with("o=")) return std::string(line);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

}  // namespace joincast::media
