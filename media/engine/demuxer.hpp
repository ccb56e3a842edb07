// demuxer.hpp — libavformat demuxing through a custom read AVIOContext.
//
// The session supplies a read function; the demuxer never knows whether
// bytes come from a file, a socket or a generator. Opening is tuned for a
// live start: a declared content type picks the input format directly (no
// probing), undeclared input is probed with a small probe size, and
// avformat_find_stream_info() is not called at all: every supported
// format's header (or first frame) already says what RTP needs, so the
// first packet can leave after a few kilobytes instead of after seconds of
// analysis.
//
// Packets come out ready for the RTP muxer: the first audio stream only,
// and AAC from ADTS goes through aac_adtstoasc so the stream has an
// AudioSpecificConfig and frames have no ADTS header.
#pragma once

#include "media/error.hpp"
#include "media/ffmpeg_ptr.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct AVVorbisParseContext;

namespace joincast::media {

class Demuxer {
 public:
  // Fills buf with up to size bytes. Returns the count (> 0), AVERROR_EOF
  // at the end of the stream, or another AVERROR. It may wait for data
  // (the session runs the demuxer on a fiber that yields in here).
  using ReadFn = std::function<int(std::uint8_t* buf, int size)>;

  // Opens the stream. A failure's message is a sentence for people ("no
  // audio stream in ogg input", the FFmpeg error, ...).
  static Result<std::unique_ptr<Demuxer>> open(ReadFn read, std::string_view content_type);
  ~Demuxer();
  Demuxer(const Demuxer&) = delete;
  Demuxer& operator=(const Demuxer&) = delete;

  // The next packet of the audio stream, in time_base() units. End of the
  // stream is AVERROR_EOF as an error (compare with av_error(AVERROR_EOF)).
  Result<void> read(AVPacket* packet);

  // The stream's codec parameters, completed where the container leaves
  // gaps (AAC: AudioSpecificConfig, sample rate and channels from ADTS).
  const AVCodecParameters& codec_parameters() const { return *par_; }
  AVRational time_base() const { return time_base_; }
  std::string format_name() const;

  // True once after the codec parameters changed mid-stream (a chained Ogg
  // stream's new headers); the session then re-describes the stream.
  bool take_parameters_changed();
  // "Artist - Title" from container tags (ID3 of a file, Vorbis comments of
  // a new Ogg chain link), once per change.
  std::optional<std::string> take_title();

 private:
  Demuxer() = default;
  Result<void> read_raw(AVPacket* packet);
  void note_tags();
  bool take_inline_header(const AVPacket* packet);
  void time_as_decoded(AVPacket* packet);

  ReadFn read_;
  AvioPtr avio_;
  InputContextPtr fmt_;
  BsfPtr adts_to_asc_;
  CodecParametersPtr par_;
  int stream_index_ = -1;
  AVRational time_base_{1, 1};
  PacketPtr pending_;  // read during open() to complete the parameters
  bool parameters_changed_ = false;
  unsigned aac_frame_samples_ = 1024;
  std::optional<std::string> title_;
  std::vector<std::vector<std::uint8_t>> vorbis_headers_;  // a chained link's headers, collecting
  ::AVVorbisParseContext* vorbis_parser_ = nullptr;
  std::vector<std::uint8_t> vorbis_parser_extradata_;
};

// The libavformat input format for a declared content type ("mp3", "aac",
// "ogg"), or empty to probe. MPEG-TS ("video/mp2t") is not demuxed: it is
// passed through (see ts_framer.hpp), and is_mpegts_type() says so.
std::string input_format_for(std::string_view content_type);
bool is_mpegts_type(std::string_view content_type);
// True if bytes start with MPEG-TS packets (sync bytes 188 apart).
bool looks_like_mpegts(std::span<const std::byte> bytes);

}  // namespace joincast::media
