// tone_encoder.hpp — the built-in test channel's signal: a sine tone with
// a short higher pip every second, encoded live with libavcodec and muxed
// with libavformat into the container a station would send (MP3, ADTS AAC,
// Ogg Opus, Ogg Vorbis, MPEG-TS with MP2). The bytes then take exactly the
// path a station's bytes take, so the test channel proves the pipeline
// with no network at all.
#pragma once

#include "media/error.hpp"
#include "media/ffmpeg_ptr.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joincast::media {

enum class ToneCodec { mp3, aac, opus, vorbis, mpegts };

std::optional<ToneCodec> parse_tone_codec(std::string_view name);
std::string_view tone_codec_name(ToneCodec codec);

struct ToneOptions {
  ToneCodec codec = ToneCodec::mp3;
  double frequency_hz = 440.0;
  unsigned sample_rate = 0;  // 0: 48000 for Opus, 44100 otherwise
  unsigned channels = 2;
  unsigned bitrate = 128000;
};

class ToneEncoder {
 public:
  static Result<std::unique_ptr<ToneEncoder>> create(const ToneOptions& options);
  ~ToneEncoder();
  ToneEncoder(const ToneEncoder&) = delete;
  ToneEncoder& operator=(const ToneEncoder&) = delete;

  // Encodes at least `duration` more audio; appends the container bytes
  // this produced (possibly none yet: encoders and muxers hold some back).
  Result<void> produce(std::chrono::milliseconds duration, std::vector<std::byte>& out);

  // The content type a server would declare ("audio/mpeg", ...).
  std::string content_type() const;
  // "440 Hz tone, MP3 128 kbit/s"
  std::string describe() const;
  // Seconds of audio encoded so far.
  double seconds() const;

 private:
  ToneEncoder() = default;
  static int write_packet(void* opaque, std::uint8_t* buf, int size);
  Result<void> encode_frame(AVFrame* frame);
  void fill(AVFrame* frame);

  ToneOptions options_;
  CodecContextPtr encoder_;
  OutputContextPtr muxer_;
  AvioPtr avio_;
  FramePtr frame_;
  PacketPtr packet_;
  std::vector<std::byte> produced_;  // muxer output not yet handed out
  std::int64_t samples_ = 0;
  double phase_ = 0;
};

}  // namespace joincast::media
