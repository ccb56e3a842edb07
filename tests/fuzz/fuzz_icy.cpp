// fuzz_icy.cpp — ICY in-band metadata: IcyDemuxer over any byte stream
// (metaint from the first byte) and parse_icy_block over any block.
// Contract: audio never includes metadata bytes (audio + blocks account for
// no more than the input), parsed fields are valid UTF-8.
#include "fuzz_check.hpp"
#include "media/source/http/icy_metadata.hpp"

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  auto check_block = [](const media::IcyBlock& b) {
    if (b.title) FUZZ_CHECK(fuzz::valid_utf8(*b.title));
    if (b.url) FUZZ_CHECK(fuzz::valid_utf8(*b.url));
  };
  if (auto b = media::parse_icy_block(in.rest())) check_block(b.value());
  FUZZ_CHECK(fuzz::valid_utf8(media::icy_text_to_utf8(in.rest())));

  std::size_t metaint = 1 + in.pick(64);
  media::IcyDemuxer demux(metaint);
  std::size_t audio = 0;
  auto bytes = in.bytes().subspan(in.text().empty() ? 0 : 1);
  // Fed in two pieces: a block split across reads must parse the same.
  std::size_t cut = bytes.size() / 3;
  std::error_code ec = demux.feed(bytes.first(cut), [&](std::span<const std::byte> a) { audio += a.size(); }, check_block);
  if (!ec)
    ec = demux.feed(bytes.subspan(cut), [&](std::span<const std::byte> a) { audio += a.size(); }, check_block);
  FUZZ_CHECK(audio <= bytes.size());
  FUZZ_CHECK(demux.audio_bytes() == audio);
  return 0;
}
