// fuzz_sniff.cpp — content sniffing and Content-Type classification.
// Contract: mime_essence() is lower case without parameters or spaces;
// classification is a pure function of its input (same answer twice).
#include "fuzz_check.hpp"
#include "media/source/http/sniff.hpp"

#include <cctype>

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  auto sniffed = media::sniff_content(in.bytes());
  FUZZ_CHECK(media::sniff_content(in.bytes()) == sniffed);
  FUZZ_CHECK(media::content_kind_name(sniffed.kind) != nullptr);
  std::string essence = media::mime_essence(in.field(0));
  for (char c : essence) FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)) && c != ';' && c != ' ');
  auto declared = media::classify_content_type(in.field(0));
  FUZZ_CHECK(media::classify_content_type(in.field(0)) == declared);
  return 0;
}
