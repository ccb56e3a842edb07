// fuzz_ssdp_message.cpp — SSDP datagrams as the SSDP module's listener
// receives them on port 1900. Contract: no crash, every value bounded and
// free of control characters.
#include "daemon/lan/ssdp/ssdp_message.hpp"
#include "fuzz_check.hpp"

using namespace joincast;
using daemon::lan::ssdp::max_ssdp_value;

namespace {
bool clean(const std::string& s) {
  if (s.size() > max_ssdp_value) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  auto m = daemon::lan::ssdp::parse_ssdp(in.text());
  if (!m) return 0;
  FUZZ_CHECK(clean(m->nts) && clean(m->nt) && clean(m->usn) && clean(m->server) && clean(m->location));
  return 0;
}
