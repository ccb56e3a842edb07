// source_factory_test.cpp — station URLs to sources: what is accepted,
// and the sentence a bad URL gets.
#include "media/source/source_factory.hpp"

#include <doctest/doctest.h>

using namespace joincast::media;

namespace {
// Whether r succeeded; why gets its error's message if not.
template <class T>
bool ok(const joincast::Result<T>& r, std::string& why) {
  why = r ? std::string() : r.error().message();
  return static_cast<bool>(r);
}
}  // namespace

TEST_CASE("test:tone URLs give the tone asked for") {
  std::string why;
  bool cycle = false;
  auto t = parse_tone_url("test:tone?frequency=1000&codec=aac&bitrate=96&title=cycle", &cycle);
  REQUIRE(t);
  CHECK(t.value().frequency_hz == 1000.0);
  CHECK(t.value().codec == ToneCodec::aac);
  CHECK(t.value().bitrate == 96000);
  CHECK(cycle);
  CHECK(ok(parse_tone_url("test:tone", nullptr), why));
}

TEST_CASE("bad test URLs name the URL and the problem") {
  std::string why;
  CHECK_FALSE(ok(parse_tone_url("test:tone?codec=mp2", nullptr), why));
  CHECK(why == "\"test:tone?codec=mp2\": codec must be mp3, aac, opus, vorbis or mpegts, not \"mp2\"");
  CHECK_FALSE(ok(parse_tone_url("test:tone?frequency=5", nullptr), why));
  CHECK(why.find("frequency must be 20..20000 Hz") != std::string::npos);
  CHECK_FALSE(ok(parse_tone_url("test:tone?volume=11", nullptr), why));
  CHECK(why.find("unknown parameter \"volume\"") != std::string::npos);
  CHECK_FALSE(ok(parse_tone_url("test:noise", nullptr), why));
}

TEST_CASE("every supported scheme plans a source and others are refused") {
  std::string why;
  CHECK(plan_source("test:tone?codec=opus", nullptr).value().kind == "test");
  CHECK(plan_source("file:///srv/a.mp3", nullptr).value().kind == "file");
  CHECK(plan_source("udp://[ff3e::1]:5004?interface=eth0", nullptr).value().kind == "udp");
  CHECK(plan_source("rtp://239.1.1.1:5004", nullptr).value().kind == "udp");
  CHECK_FALSE(ok(plan_source("http://radio.example/stream", nullptr), why));
  CHECK(why == "\"http://radio.example/stream\": no HTTP client configured");
  CHECK_FALSE(ok(plan_source("file://relative.mp3", nullptr), why));
  CHECK_FALSE(ok(plan_source("udp://[ff3e::1]5004", nullptr), why));
  CHECK_FALSE(ok(plan_source("udp://239.1.1.1", nullptr), why));
  CHECK_FALSE(ok(plan_source("gopher://x", nullptr), why));
  CHECK(why.find("unsupported URL scheme") != std::string::npos);
}
