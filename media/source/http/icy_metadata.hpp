// icy_metadata.hpp — SHOUTcast/Icecast in-band metadata. A server that was
// asked for it (Icy-MetaData: 1) and answers with icy-metaint: N sends one
// length byte L after every N audio bytes, then L×16 bytes of
// "StreamTitle='…';StreamUrl='…';" padded with NULs. IcyDemuxer takes the
// blocks out so only audio reaches the demuxer, and parses them. Quotes
// inside values are not escaped, so a value ends at "';", not at "'".
// No charset is declared: UTF-8 when the bytes are valid UTF-8, else Latin-1.
#pragma once

#include "media/byte_source.hpp"
#include "media/error.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace joincast::media {

// The fields of one metadata block; a field absent from the block is nullopt
// (the previous value stays), present but empty is "".
struct IcyBlock {
  std::optional<std::string> title;  // StreamTitle, UTF-8
  std::optional<std::string> url;    // StreamUrl, UTF-8
};

// Parses the text of a block (trailing NULs allowed). Fails with
// SourceErrc::icy_metadata_corrupt when the block is not metadata at all
// (binary bytes, no Key='value' form): the stream is then out of step.
Result<IcyBlock> parse_icy_block(std::string_view block);

// Bytes from the network as UTF-8: unchanged if valid UTF-8, otherwise read
// as Latin-1 (ISO 8859-1) and converted.
std::string icy_text_to_utf8(std::string_view bytes);

// StreamMetadata's header part from icy-name, icy-genre, icy-url, icy-br.
StreamMetadata icy_header_metadata(std::string_view name, std::string_view genre, std::string_view url,
                                   std::string_view bitrate);

class IcyDemuxer {
 public:
  using AudioFn = std::function<void(std::span<const std::byte>)>;
  using BlockFn = std::function<void(const IcyBlock&)>;

  // metaint 0: no metadata is interleaved, everything is audio.
  explicit IcyDemuxer(std::size_t metaint) : metaint_(metaint), audio_left_(metaint) {}

  // Splits bytes into audio runs (in order) and parsed blocks. Empty blocks
  // (length byte 0, the common case) produce no call. Returns an error when
  // a block is corrupt; the demuxer is then unusable.
  std::error_code feed(std::span<const std::byte> bytes, const AudioFn& audio, const BlockFn& block);

  std::size_t metaint() const { return metaint_; }
  // Total audio bytes passed through; for tests and statistics.
  std::uint64_t audio_bytes() const { return audio_total_; }

 private:
  enum class State { audio, length, block };
  std::size_t metaint_;
  std::size_t audio_left_;
  std::size_t block_left_ = 0;
  State state_ = State::audio;
  std::string block_;
  std::uint64_t audio_total_ = 0;
  bool failed_ = false;
};

}  // namespace joincast::media
