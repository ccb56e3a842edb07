// error.hpp — how netlink/ reports failure: Result<T> carrying a
// std::error_code, converted from errno or an NLMSG_ERROR at the call site.
// Failures that have no errno of their own (a malformed kernel message, a
// full VIF table) get netlink::Errc in netlink_category(), so a log line
// reads "all 32 VIFs of the multicast routing table are in use" rather than
// a borrowed errno text. This layer returns errors and never logs them.
#pragma once

#include "common/result.hpp"

#include <system_error>

namespace joincast::netlink {

using joincast::Error;
using joincast::Result;
using joincast::success;

using joincast::errno_error;  // an errno value (positive, as errno holds it)
using joincast::last_error;   // the current errno

enum class Errc {
  // A message from the kernel that does not parse: short header, an
  // attribute of the wrong size, a nest that overruns its parent.
  malformed_message = 1,
  // A message we built did not fit its buffer.
  message_too_long,
  // Every one of the 32 VIFs (IPv4) or MIFs (IPv6) of the table is taken.
  vif_table_full,
  // The interface has no VIF/MIF in this table.
  no_vif,
  // A dump that the kernel kept interrupting (NLM_F_DUMP_INTR) too often.
  dump_inconsistent,
  // Datagram on the mroute socket that is neither an upcall nor IGMP/MLD.
  not_membership_or_upcall,
};

const std::error_category& netlink_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), netlink_category()}; }

}  // namespace joincast::netlink

template <>
struct std::is_error_code_enum<joincast::netlink::Errc> : std::true_type {};
