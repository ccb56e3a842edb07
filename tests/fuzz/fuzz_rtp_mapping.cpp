// fuzz_rtp_mapping.cpp — the codec configuration bytes the RTP mapping
// reads from a stream: AAC AudioSpecificConfig and Vorbis Xiph-laced
// extradata (the first byte picks). Contract: an accepted ASC has a sample
// rate and a frame length of 960 or 1024; a packed Vorbis configuration
// starts with one packed header (count 1) and is no larger than the input
// plus its fixed header and an empty comment.
#include "fuzz_check.hpp"
#include "media/rtp/rtp_mapping.hpp"

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::span<const std::uint8_t> rest(data + (size ? 1 : 0), size ? size - 1 : 0);
  if (in.pick(2) == 0) {
    if (auto asc = media::parse_audio_specific_config(rest)) {
      FUZZ_CHECK(asc.value().sample_rate > 0);
      FUZZ_CHECK(asc.value().frame_length == 960 || asc.value().frame_length == 1024);
    }
  } else if (auto packed = media::vorbis_packed_configuration(rest, 0xc0ffee)) {
    const auto& p = packed.value();
    FUZZ_CHECK(p.size() >= 4);
    FUZZ_CHECK(p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 1);  // 32-bit count of packed headers
    FUZZ_CHECK(p.size() <= rest.size() + 64);
  }
  return 0;
}
