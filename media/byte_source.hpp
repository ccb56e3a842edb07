// byte_source.hpp — where a session's bytes come from: an HTTP body after
// our own HTTP/ICY handling, a file, a UDP/RTP input, a generated signal.
//
// Sources push: they deliver bytes to a ByteSink as they arrive, on the
// executor they were created with, and never block it. Flow control is
// explicit: when the sink answers on_data() with Flow::pause, the source
// stops reading (a socket stops being read, so TCP pushes back on the
// server) until resume() is called. The pipeline pauses a source when its
// buffer is ahead of the pacing clock and resumes it when it drains.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>

namespace joincast::media {

// What a station tells us about itself and what it plays now. Any field
// may be empty; text arrives as UTF-8 (sources convert Latin-1 and friends)
// and is NOT yet sanitised: the SDP writer does that.
struct StreamMetadata {
  std::string station_name;  // icy-name  -> SDP s=
  std::string now_playing;   // StreamTitle -> SDP i=
  std::string url;           // StreamUrl or icy-url -> SDP u=
  std::string genre;         // icy-genre
  std::optional<unsigned> bitrate_kbps;  // icy-br
  bool operator==(const StreamMetadata&) const = default;
};

enum class Flow { more, pause };

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Some bytes of the stream, in order. The span is valid only during the call.
  virtual Flow on_data(std::span<const std::byte> bytes) = 0;
  // The station's metadata changed (ICY title, a new station name, ...).
  virtual void on_metadata(const StreamMetadata& metadata) = 0;
  // The stream ended: an empty error_code for a clean end of a finite
  // source, otherwise why it failed. No call follows this one.
  virtual void on_end(std::error_code why) = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Starts delivering to sink, which must outlive the source or stop().
  virtual void start(ByteSink& sink) = 0;
  // Continues after on_data() returned Flow::pause.
  virtual void resume() = 0;
  // Stops delivering; no sink call happens after stop() returns.
  virtual void stop() = 0;
  // The declared type once known ("audio/mpeg", "audio/aac",
  // "application/ogg", "video/mp2t", ...), empty if undeclared: the demuxer
  // probes then.
  virtual std::string content_type() const = 0;
  // A name for logs and errors: a URL, a path, "test tone 440 Hz".
  virtual std::string describe() const = 0;
  // After on_end() with an error: the sentence for the operator, naming
  // the input ("http://x/live.m3u8: no audio for 15 s; ..."), or empty when
  // the error code says all the source knows.
  virtual std::string failure_reason() const { return {}; }
  // True while the bytes are a live stream delivered in real time by a
  // server that may send a backlog at connect (an HTTP/ICY station): the
  // session then sends from near the newest data, dropping whole frames of
  // backlog (LiveEdge, media/rtp/pacing.hpp). Files, generated tones, DVB,
  // UDP and HLS (whose data arrives a segment at a time) are not.
  virtual bool live() const { return false; }
};

}  // namespace joincast::media
