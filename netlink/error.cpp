// error.cpp — see error.hpp.
#include "netlink/error.hpp"

#include <string>

namespace joincast::netlink {

namespace {
class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netlink"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::malformed_message: return "malformed netlink message from the kernel";
      case Errc::message_too_long: return "netlink message does not fit its buffer";
      case Errc::vif_table_full: return "all 32 VIFs/MIFs of the multicast routing table are in use";
      case Errc::no_vif: return "the interface has no VIF/MIF in the multicast routing table";
      case Errc::dump_inconsistent: return "the kernel kept interrupting the dump (NLM_F_DUMP_INTR)";
      case Errc::not_membership_or_upcall: return "datagram is neither a kernel upcall nor IGMP/MLD";
    }
    return "unknown netlink error";
  }
};
}  // namespace

const std::error_category& netlink_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace joincast::netlink
