// fuzz_playlist.cpp — PLS, M3U, XSPF and ASX (format from the first byte).
// Contract: at most max_entries entries; every location is non-empty,
// trimmed; resolved against the playlist's own URL an entry
// is an absolute http(s) URL without control characters or spaces that
// prints and parses back to itself.
#include "fuzz_check.hpp"
#include "media/source/http/http_url.hpp"
#include "media/source/http/playlist_parser.hpp"
#include "media/text.hpp"

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const media::PlaylistFormat formats[] = {media::PlaylistFormat::pls, media::PlaylistFormat::m3u,
                                           media::PlaylistFormat::xspf, media::PlaylistFormat::asx};
  auto format = formats[in.pick(4)];
  constexpr std::size_t max_entries = 16;
  auto parsed = media::parse_playlist(format, in.rest(), max_entries);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message().empty());
    return 0;
  }
  FUZZ_CHECK(parsed.value().size() <= max_entries);
  static const auto base = media::Url::parse("http://radio.example/dir/list.pls?x=1").value();
  for (const auto& e : parsed.value()) {
    std::string_view l = e.location;
    FUZZ_CHECK(!l.empty());
    FUZZ_CHECK(media::trim_space(l) == l);
    auto resolved = base.resolve(l);
    if (!resolved) continue;
    const auto& u = resolved.value();
    FUZZ_CHECK(u.scheme == "http" || u.scheme == "https");
    FUZZ_CHECK(!u.host.empty());
    // Nothing from the playlist can break the request line: no controls, no spaces.
    FUZZ_CHECK(!fuzz::has_control(u.to_string()) && !fuzz::has_any(u.to_string(), " "));
    auto again = media::Url::parse(u.to_string());
    FUZZ_CHECK(again);
    FUZZ_CHECK(again.value().to_string() == u.to_string());
  }
  return 0;
}
