// fuzz_dns_message.cpp — mDNS messages as received on udp 5353.
// Contract: a malformed message is an error with a message; one that
// decodes re-encodes, and the re-encoding decodes to the same message;
// with records removed (as the relay's filter does) it still encodes and
// decodes to what was kept (the compression pointers are all fresh).
#include "daemon/lan/mdns/dns_message.hpp"
#include "fuzz_check.hpp"

using namespace joincast;
using namespace joincast::daemon::lan::mdns;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = parse_message({data, size});
  if (!m) {
    FUZZ_CHECK(!m.error().message().empty());
    return 0;
  }
  auto out = write_message(m.value());
  FUZZ_CHECK(out);
  auto again = parse_message(out.value());
  FUZZ_CHECK(again);
  FUZZ_CHECK(again.value() == m.value());
  Message fewer = m.value();
  for (auto* list : {&fewer.answers, &fewer.authorities, &fewer.additionals})
    for (std::size_t i = list->size(); i-- > 0;)
      if (i % 2 == 0) list->erase(list->begin() + static_cast<std::ptrdiff_t>(i));
  if (!fewer.questions.empty()) fewer.questions.erase(fewer.questions.begin());
  auto out2 = write_message(fewer);
  FUZZ_CHECK(out2);
  auto back = parse_message(out2.value());
  FUZZ_CHECK(back);
  FUZZ_CHECK(back.value() == fewer);
  return 0;
}
