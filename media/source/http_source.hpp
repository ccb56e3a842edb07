// http_source.hpp — an internet radio station as a ByteSource. The station
// URL is located (redirects, playlists, sniffing: http_locator.hpp), the
// body is pushed to the sink with ICY metadata taken out and reported as
// StreamMetadata, and a live stream that drops or stalls is reconnected
// with exponential backoff and jitter. Every failure leaves a sentence for
// the operator in status().reason; after HttpOptions::reconnect_attempts
// consecutive failures the source ends with the last error.
//
// A URL that turns out to be an HLS playlist (directly, after redirects or
// inside a PLS/M3U) is handed over to an HlsSource (hls_source.hpp):
// libavformat's HLS demuxer on a thread of its own, remuxed into ADTS, MPEG
// audio or MPEG-TS. The HttpSource stays the ByteSource the session sees:
// its status, metadata, reconnects with backoff and the final error work
// the same for both; an HLS stream that fails or stalls is located again
// after the backoff, like a dropped HTTP stream.
//
// open_stream() locates the URL first, so the caller learns before
// building a pipeline whether it got bytes (HttpSource) or an HLS
// playlist (which HttpSource(client, url, HlsStream) plays).
#pragma once

#include "media/byte_source.hpp"
#include "media/source/http/http_client.hpp"
#include "media/source/http/http_error.hpp"
#include "media/source/http/http_locator.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace joincast::media {

struct SourceStatus {
  enum class State {
    idle,        // not started
    connecting,  // locating / connecting
    playing,     // bytes flowing
    waiting,     // failed, reconnecting after a backoff
    ended,       // finite stream complete
    failed,      // gave up
    stopped,     // stop() called
  };
  State state = State::idle;
  std::string url;     // what plays now (after redirects and playlists)
  bool hls = false;    // url is an HLS playlist, played by libavformat
  std::string reason;  // the last failure, for the operator; kept while playing again
  unsigned reconnects = 0;        // attempts made after the first connection
  unsigned failures_in_row = 0;   // consecutive failures
  std::chrono::milliseconds retry_in{0};  // when waiting
};

const char* source_state_name(SourceStatus::State state);

class HttpSource final : public ByteSource {
 public:
  using StatusHandler = std::function<void(const SourceStatus&)>;

  // url: the station URL (re-located on every reconnect, so a playlist
  // that now points elsewhere is followed). first: an already located
  // stream to start with (from open_stream), or nullopt to locate on start.
  HttpSource(std::shared_ptr<HttpClient> client, std::string url, std::optional<LocatedStream> first = std::nullopt);
  // first: the HLS playlist open_stream() found for url.
  HttpSource(std::shared_ptr<HttpClient> client, std::string url, HlsStream first);
  ~HttpSource() override;

  void start(ByteSink& sink) override;
  void resume() override;
  void stop() override;
  std::string content_type() const override;
  std::string describe() const override;
  std::string failure_reason() const override;
  // An HTTP body without a length (Icecast, SHOUTcast) or with ICY
  // metadata; not HLS, not a file served with its length.
  bool live() const override;

  const SourceStatus& status() const;
  const StreamMetadata& metadata() const;
  // Called on every state change (on the source's executor).
  void on_status(StatusHandler handler);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

using OpenedStream = std::variant<std::unique_ptr<HttpSource>, HlsStream>;
using OpenStreamHandler = std::function<void(const Error&, OpenedStream)>;

// Locates url and hands back an HttpSource ready to start (its first
// connection already open) or the HLS playlist URL; or why neither.
void open_stream(std::shared_ptr<HttpClient> client, const std::string& url, OpenStreamHandler done);

}  // namespace joincast::media
