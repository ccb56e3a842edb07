// fuzz_membership_wire.cpp — IGMP and MLD messages as the fallback path
// reads them from the multicast routing socket (the first byte picks, and
// can have the IGMP checksum made right so the fuzzer gets past it).
// Contract: a decoded report has no more records, and no record more
// sources, than the bytes can hold; a decoded query says so and has no
// records; a refused message says why.
#include "daemon/membership/membership_wire.hpp"
#include "fuzz_check.hpp"

#include <vector>

using namespace joincast;
namespace wire = joincast::daemon::membership::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::vector<std::uint8_t> bytes(data + (size ? 1 : 0), data + size);
  const unsigned mode = in.pick(3);  // 0: IGMP as is, 1: IGMP with its checksum made right, 2: MLD
  const bool mld = mode == 2;
  if (mode == 1 && bytes.size() >= 4) {
    bytes[2] = bytes[3] = 0;
    auto sum = wire::internet_checksum(bytes);
    bytes[2] = static_cast<std::uint8_t>(sum >> 8);
    bytes[3] = static_cast<std::uint8_t>(sum);
  }
  std::span<const std::uint8_t> msg(bytes);
  auto r = mld ? wire::decode_mld(msg) : wire::decode_igmp(msg);
  if (!r) {
    FUZZ_CHECK(r.error() == wire::DecodeError::truncated || r.error() == wire::DecodeError::malformed ||
               r.error() == wire::DecodeError::bad_checksum);
    return 0;
  }
  const wire::Decoded* d = &r.value();
  const std::size_t address = mld ? 16 : 4;
  if (d->kind == wire::Decoded::Kind::query) FUZZ_CHECK(d->records.empty());
  // Each record takes at least a header and a group address; its sources are listed in it.
  FUZZ_CHECK(d->records.size() <= msg.size() / address + 1);
  for (const auto& r : d->records) FUZZ_CHECK(std::size_t{r.sources} * address <= msg.size());
  // The code conversions round-trip within their precision.
  std::uint8_t c8 = msg.empty() ? 0 : msg[0];
  FUZZ_CHECK(wire::encode_code8(wire::decode_code8(c8)) == c8 || c8 >= 128);
  return 0;
}
