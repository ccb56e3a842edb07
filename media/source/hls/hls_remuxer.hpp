// hls_remuxer.hpp — one elementary stream from libavformat's HLS demuxer
// turned back into a byte stream the session's demuxer reads, without
// transcoding: AAC as ADTS, MP3 and MP2 as plain MPEG audio frames,
// anything else (AC-3, Opus, ...) as MPEG-TS. HlsSource uses it on its
// thread; it is separate so the remuxing can be tested without a network.
//
// HLS timestamps restart at discontinuities and jump where segments went
// missing; the output's timestamps are made strictly increasing and
// continuous (a jump of more than a second, or any step back, is closed
// up), so an MPEG-TS output carries a PCR the session can pace by.
#pragma once

#include "media/byte_source.hpp"
#include "media/error.hpp"
#include "media/ffmpeg_ptr.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace joincast::media {

// The muxer and the content type an input codec is delivered as.
struct RemuxTarget {
  const char* muxer;         // "adts", "mp3", "mp2", "mpegts"
  const char* content_type;  // what ByteSource::content_type() reports
};
RemuxTarget remux_target(AVCodecID codec);

// The audio stream of an HLS input to play: of the streams whose codec is
// known, the one whose variant declares the highest BANDWIDTH
// ("variant_bitrate"), the first of equals. -1 if there is no audio.
int choose_hls_audio_stream(const AVFormatContext& input);

// What an HLS stream says about itself: ID3 tags of packed audio (title,
// artist, genre, TRSN station name) and the variant's BANDWIDTH.
StreamMetadata hls_stream_metadata(const AVDictionary* metadata);

// Rewrites packet timestamps (in one time base) to be strictly increasing
// and free of jumps, keeping the small irregularities of real streams.
class TimestampContinuity {
 public:
  explicit TimestampContinuity(AVRational time_base);
  void apply(AVPacket& packet);
  // How many jumps were closed up so far.
  unsigned jumps() const { return jumps_; }

 private:
  std::int64_t max_jump_;
  std::int64_t offset_ = 0;
  std::int64_t last_dts_ = AV_NOPTS_VALUE;
  std::int64_t next_dts_ = AV_NOPTS_VALUE;  // where the stream should continue
  std::int64_t last_duration_ = 1;
  unsigned jumps_ = 0;
};

class HlsRemuxer {
 public:
  // Receives the output bytes as the muxer writes them.
  using Output = std::function<void(std::span<const std::byte>)>;

  // in: the stream to remux (its codec parameters and time base, copied).
  static Result<std::unique_ptr<HlsRemuxer>> create(const AVStream& in, Output output);
  ~HlsRemuxer();
  HlsRemuxer(const HlsRemuxer&) = delete;
  HlsRemuxer& operator=(const HlsRemuxer&) = delete;

  // Writes one packet of the input stream (timestamps in its time base;
  // the packet is consumed) and hands the bytes produced to the output.
  // The HLS demuxer leaves the sample rate and channels of MPEG-TS and
  // packed-audio streams unknown (nobody runs avformat_find_stream_info
  // on a live stream), and muxers need them: the first packets are held
  // back until their frame headers have told (an ADTS header, libavcodec's
  // parser for the others); MPEG audio's layer is corrected the same way.
  Result<void> write(AVPacket& packet);

  // Writes what the muxer still holds (the last MPEG-TS packets); at a
  // clean end of the stream.
  Result<void> finish();

  // True once the muxer runs: target() and codec() are then final.
  bool started() const { return muxer_ != nullptr; }
  const RemuxTarget& target() const { return target_; }
  std::string codec() const;
  // Timestamp jumps closed up so far.
  unsigned jumps() const { return continuity_ ? continuity_->jumps() : 0; }

 private:
  struct ParserDeleter {
    void operator()(AVCodecParserContext* p) const { av_parser_close(p); }
  };

  HlsRemuxer(AVRational in_time_base, Output output);
  static int write_bytes(void* opaque, std::uint8_t* buf, int size);
  bool learn(const AVPacket& packet);
  Result<void> start(const AVPacket& first);
  Result<void> mux(AVPacket& packet);

  CodecParametersPtr par_;
  AVRational in_time_base_;
  Output output_;
  RemuxTarget target_{"", ""};
  std::vector<PacketPtr> backlog_;  // held back until the parameters are known
  std::unique_ptr<AVCodecParserContext, ParserDeleter> parser_;
  CodecContextPtr parser_context_;
  AvioPtr avio_;
  OutputContextPtr muxer_;
  std::optional<TimestampContinuity> continuity_;  // in the output's time base, set by start()
};

}  // namespace joincast::media
