// error.hpp — Result<T> for daemon/ and its BPF loader, and the
// conversions at their boundaries (libbpf's negative errno).
#pragma once

#include <boost/outcome/std_result.hpp>
#include <cerrno>
#include <system_error>

namespace joincast::daemon {

template <class T>
using Result = boost::outcome_v2::std_result<T>;

using boost::outcome_v2::success;

inline std::error_code errno_error(int e) { return {e, std::generic_category()}; }
inline std::error_code last_error() { return errno_error(errno); }
// libbpf returns -errno (and sets errno); a NULL pointer return leaves errno.
inline std::error_code libbpf_error(int negative_errno) { return errno_error(-negative_errno); }

}  // namespace joincast::daemon
