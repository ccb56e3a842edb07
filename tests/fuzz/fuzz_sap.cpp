// fuzz_sap.cpp — SAP packets (RFC 2974) as received on port 9875.
// Contract: a decoded announcement re-encodes to a packet that decodes to
// the same message.
#include "fuzz_check.hpp"
#include "media/announce/sap.hpp"

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  auto m = media::decode_sap(in.bytes());
  if (!m || m.value().encrypted || m.value().compressed) return 0;
  const auto& msg = m.value();
  auto again = media::decode_sap(media::encode_sap(msg));
  FUZZ_CHECK(again);
  const auto& a = again.value();
  FUZZ_CHECK(a.deletion == msg.deletion && a.msg_id_hash == msg.msg_id_hash && a.origin == msg.origin);
  FUZZ_CHECK(a.payload == msg.payload);
  FUZZ_CHECK(a.payload_type == msg.payload_type || (msg.payload_type.empty() && a.payload_type == "application/sdp"));
  return 0;
}
