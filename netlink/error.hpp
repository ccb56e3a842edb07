// error.hpp — how netlink/ reports failure: Result<T> carrying a
// std::error_code, converted from errno or an NLMSG_ERROR at the call site.
// This layer returns errors and never logs them.
#pragma once

#include <boost/outcome/std_result.hpp>
#include <cerrno>
#include <system_error>

namespace joincast::netlink {

template <class T>
using Result = boost::outcome_v2::std_result<T>;

using boost::outcome_v2::success;

// The error for an errno value (positive, as errno holds it).
inline std::error_code errno_error(int e) { return {e, std::generic_category()}; }

// The error for the current errno.
inline std::error_code last_error() { return errno_error(errno); }

}  // namespace joincast::netlink
