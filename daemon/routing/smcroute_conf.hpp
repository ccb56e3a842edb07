// smcroute_conf.hpp — reads smcroute.conf (smcroute 2.5's format, see
// smcroute.conf(5)) so an existing file can be `include`d from the
// [routing] section and give the same kernel routes under joincastd as
// under smcrouted:
//
//   phyint IFNAME [enable|disable] [mrdisc] [ttl-threshold TTL]
//   mgroup from IFNAME [source ADDR[/LEN]] group GROUP[/LEN]
//   mroute from IFNAME [source ADDR[/LEN]] group GROUP[/LEN] [to IFNAME ...]
//   include PATTERN          (glob(3), matches read in sorted order)
//   # comments, to the end of the line
//
// smcrouted skips a line it does not understand and logs a warning; here
// every such line is an error naming file, line and column, so a typo
// cannot silently drop a route. Interfaces are not looked up: one that is
// missing makes its routes pending, not the file invalid.
#pragma once

#include "common/result.hpp"

#include "daemon/core/interface_table.hpp"  // interface_matches, smcroute's "eth+"

#include "common/ip_address.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joincast::daemon::routing {

struct SourceLocation {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string to_string() const;  // "file:line"
};

struct SmcrouteConf {
  struct Phyint {
    std::string name;  // may be a wildcard "eth+"
    bool enable = true;
    bool mrdisc = false;
    std::optional<std::uint8_t> ttl_threshold;
    SourceLocation where;
  };
  struct Mroute {
    std::string from;  // may be a wildcard
    std::optional<IpPrefix> source;  // nullopt: any source, a (*,G) route
    IpPrefix group;
    std::vector<std::string> to;
    SourceLocation where;
  };
  struct Mgroup {
    std::string from;
    std::optional<IpPrefix> source;
    IpPrefix group;
    SourceLocation where;
  };
  std::vector<Phyint> phyints;
  std::vector<Mroute> mroutes;
  std::vector<Mgroup> mgroups;
  std::vector<std::string> files;  // every file read, the top one first
  std::vector<std::string> warnings;  // "file:line: mrdisc is not supported, ignored"
};

struct SmcrouteError {
  SourceLocation where;
  std::string message;
};

struct SmcrouteResult {
  SmcrouteConf conf;
  std::vector<SmcrouteError> errors;
  bool ok() const { return errors.empty(); }
};

// Reads a file and what it includes. Relative include patterns are taken
// relative to the directory of the file that includes them.
SmcrouteResult read_smcroute_conf(const std::string& path);

// Parses text as if read from `name`; include lines are resolved with
// `read_file` (its text, or why it cannot be read) and `expand` (glob) so
// tests need no files.
struct SmcrouteSources {
  std::function<Result<std::string>(const std::string& path)> read_file;
  std::function<std::vector<std::string>(const std::string& pattern)> expand;
};
SmcrouteResult parse_smcroute_conf(std::string_view text, const std::string& name, const SmcrouteSources& sources);

}  // namespace joincast::daemon::routing
