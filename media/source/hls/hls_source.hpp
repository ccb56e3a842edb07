// hls_source.hpp — an HLS station (RFC 8216) as a ByteSource. libavformat's
// "hls" demuxer reads the playlists and segments: master playlists,
// live playlists that keep growing, MPEG-TS, packed-audio and fMP4
// segments, AES-128. It does blocking network I/O, so it runs on a thread
// of its own (one per HLS station; they are few), never on a media worker.
//
// One audio stream is chosen (the variant with the highest BANDWIDTH) and
// remuxed without transcoding into a byte stream the session's demuxer
// reads: AAC as ADTS ("audio/aac"), MP3 and MP2 as MPEG audio
// ("audio/mpeg"), anything else as MPEG-TS ("video/mp2t"); content_type()
// says which once the first bytes are delivered. Timestamps are made
// continuous across segment boundaries and discontinuities, so an MPEG-TS
// output paces smoothly.
//
// Bytes reach the sink on the source's executor (posted from the thread).
// Flow control: while the sink has paused the source, bytes queue up to
// HlsOptions::max_buffered and then the thread blocks, so memory stays
// bounded and TCP pushes back on the server. stop() interrupts whatever
// libavformat is doing (its AVIOInterruptCB) and returns at once; the
// thread finishes on its own within a moment and never touches the sink
// or the executor after stop().
//
// libavformat's own HTTP client is confined: every URL it opens (playlists,
// segments, keys) goes through one io_open callback that allows only the
// http, https, tcp, tls, crypto and data protocols (no file:, no udp:, no
// pipes, whatever a playlist says), bounds every connect and read with
// rw_timeout, sends our User-Agent and verifies TLS certificates.
// A stream that yields no audio packet for stall_timeout (opening
// included) fails, naming the last request that failed (a segment's 404).
#pragma once

#include "media/byte_source.hpp"
#include "media/source/http/http_client.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace joincast::media {

struct HlsOptions {
  std::string user_agent = HttpOptions{}.user_agent;
  // One connect, TLS handshake or read of libavformat's HTTP client.
  std::chrono::milliseconds io_timeout{15'000};
  // No audio packet for this long (while not paused), opening included.
  std::chrono::milliseconds stall_timeout{30'000};
  // Bytes queued for a paused sink before the thread stops reading.
  std::size_t max_buffered = 256 * 1024;
  bool verify_tls = true;
  std::string ca_file;  // trust anchors instead of the system store
};

// The HLS limits that follow from the HTTP client's: the same User-Agent
// and TLS trust, io_timeout = response_timeout, and a stall timeout of
// twice stall_timeout (at least 10 s): HLS arrives a segment at a time.
HlsOptions hls_options(const HttpOptions& http);

// libavformat's protocol whitelist for HLS.
inline constexpr const char* kHlsProtocols = "http,https,tcp,tls,crypto,data";
// The name of every HLS thread (/proc/PID/task/TID/comm).
inline constexpr const char* kHlsThreadName = "joincast-hls";

class HlsSource final : public ByteSource {
 public:
  HlsSource(boost::asio::any_io_executor executor, std::string url, HlsOptions options = {});
  ~HlsSource() override;

  void start(ByteSink& sink) override;
  void resume() override;
  void stop() override;
  std::string content_type() const override;
  std::string describe() const override;
  std::string failure_reason() const override;

  // The codec being remuxed ("aac", "mp3", ...) once known, for logs and tests.
  std::string codec() const;
  // True from start() until the thread has finished (after stop(), a
  // moment later): what tests check to see that no thread is left behind.
  bool thread_running() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace joincast::media
