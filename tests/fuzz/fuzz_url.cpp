// fuzz_url.cpp — URL parsing, resolution and dot-segment removal.
// Contract: a parsed URL is http(s) with a host and a target starting with
// "/", and prints as a string that parses back to the same URL; so does
// every resolved reference; remove_dot_segments() of an absolute path
// leaves no "." or ".." segment.
#include "fuzz_check.hpp"
#include "media/source/http/http_url.hpp"

using namespace joincast;

namespace {
void check_url(const media::Url& u) {
  FUZZ_CHECK(u.scheme == "http" || u.scheme == "https");
  FUZZ_CHECK(!u.host.empty());
  FUZZ_CHECK(!u.target.empty() && u.target.front() == '/');
  std::string text = u.to_string();
  FUZZ_CHECK(!fuzz::has_control(text));
  auto again = media::Url::parse(text);
  FUZZ_CHECK(again);
  FUZZ_CHECK(again.value() == u);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  if (auto u = media::Url::parse(in.field(0))) check_url(u.value());
  static const auto base = media::Url::parse("https://radio.example:8443/a/b/c.m3u?q=1").value();
  if (auto r = base.resolve(in.field(0))) check_url(r.value());
  if (auto b = media::Url::parse(in.field(1))) {
    if (auto r = b.value().resolve(in.field(0))) check_url(r.value());
  }
  if (in.field(0).starts_with("/")) {
    std::string path = media::remove_dot_segments(in.field(0));
    std::string_view p = path;
    FUZZ_CHECK(p.find("/./") == std::string_view::npos && p.find("/../") == std::string_view::npos);
    FUZZ_CHECK(!p.ends_with("/.") && !p.ends_with("/.."));
  }
  return 0;
}
