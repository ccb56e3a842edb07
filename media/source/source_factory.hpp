// source_factory.hpp — a station's URL to the ByteSource that plays it,
// built on the executor of the media session that will own it:
//
//   test:tone?frequency=440&codec=mp3&bitrate=128[&title=cycle]
//                                the built-in test channel (no network)
//   http://…, https://…          our HTTP/ICY client (redirects, playlists,
//                                reconnects with backoff); a URL that turns
//                                out to be an HLS playlist is played by
//                                libavformat's HLS demuxer inside it
//                                (http_source.hpp, hls_source.hpp)
//   file:///path/to/file.mp3     a file, looped
//   udp://GROUP:PORT, rtp://GROUP:PORT[?interface=eth0]
//                                a UDP or RTP input (brackets around IPv6)
//
// The URL is checked at once, so a station with a bad URL fails before a
// session exists, with a sentence naming the URL.
#pragma once

#include "media/error.hpp"
#include "media/engine/media_engine.hpp"
#include "media/source/http/http_client.hpp"
#include "media/source/http_source.hpp"
#include "media/source/tone_encoder.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace joincast::media {

// What a source reports about itself while it runs (an HTTP source's
// reconnects and last failure), readable from any thread.
class SourceStatusBox {
 public:
  void set(const SourceStatus& s) {
    std::lock_guard lock(mutex_);
    status_ = s;
  }
  SourceStatus get() const {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  SourceStatus status_;
};

struct SourcePlan {
  MediaEngine::SourceFactory factory;
  std::string kind;                          // "test", "http", "file", "udp"
  std::shared_ptr<SourceStatusBox> status;   // set for http sources
};

// Checks url and returns how to make its source. http may be null when no
// http(s) URL is to be played.
Result<SourcePlan> plan_source(const std::string& url, const std::shared_ptr<HttpClient>& http);

// The test: URL's tone (test:tone?frequency=HZ&codec=mp3|aac|opus|vorbis|mpegts
// &bitrate=KBPS[&title=cycle]).
Result<ToneOptions> parse_tone_url(std::string_view url, bool* cycle_titles);

}  // namespace joincast::media
