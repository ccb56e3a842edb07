// smcroute_conf_test.cpp — reading smcroute.conf: every directive of
// smcroute 2.5, includes, and bad input reported with file, line and column.
#include "daemon/routing/smcroute_conf.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

using namespace joincast::daemon;
using namespace joincast::daemon::routing;
using joincast::IpPrefix;

namespace {

// Files in memory; glob patterns match by prefix before the '*'.
struct FakeFiles {
  std::map<std::string, std::string> files;
  SmcrouteSources sources() {
    return {[this](const std::string& p) -> joincast::Result<std::string> {
              auto it = files.find(p);
              if (it == files.end()) return joincast::Error(std::errc::no_such_file_or_directory);
              return it->second;
            },
            [this](const std::string& pattern) {
              std::vector<std::string> out;
              auto star = pattern.find('*');
              for (const auto& [name, text] : files) {
                if (star == std::string::npos ? name == pattern : name.rfind(pattern.substr(0, star), 0) == 0)
                  out.push_back(name);
              }
              return out;
            }};
  }
};

SmcrouteResult parse(const std::string& text) {
  FakeFiles none;
  return parse_smcroute_conf(text, "/etc/smcroute.conf", none.sources());
}

}  // namespace

TEST_CASE("the directives of smcroute.conf(5), comments and blank lines") {
  auto r = parse(R"(# smcroute.conf example
phyint eth0 enable ttl-threshold 11
phyint eth1 enable
phyint virbr0 disable

mgroup from eth0                     group 225.1.2.3
mroute from eth0 source 192.168.1.42 group 225.1.2.3 to eth1 eth2   # trailing comment
mgroup from virbr0 source 192.168.123.110 group 225.1.2.4
mroute from eth0 group 225.0.0.0/24 to eth1 eth2
mroute from eth0 source 0.0.0.0 group 225.3.2.1 to eth1
mroute from eth+ group ff2e::42 to eth1
ssmgroup from eth0 source 2001:3::1 group ff2e::43
)");
  REQUIRE(r.ok());
  const auto& c = r.conf;
  REQUIRE(c.phyints.size() == 3);
  CHECK(c.phyints[0].name == "eth0");
  CHECK(c.phyints[0].ttl_threshold == 11);
  CHECK_FALSE(c.phyints[2].enable);
  REQUIRE(c.mroutes.size() == 4);
  CHECK(c.mroutes[0].source == IpPrefix::parse("192.168.1.42"));
  CHECK(c.mroutes[0].to == std::vector<std::string>{"eth1", "eth2"});
  CHECK(c.mroutes[0].where.line == 7);
  CHECK(c.mroutes[1].group == *IpPrefix::parse("225.0.0.0/24"));
  CHECK_FALSE(c.mroutes[1].source);
  CHECK_FALSE(c.mroutes[2].source);  // 0.0.0.0 is "any source"
  CHECK(c.mroutes[3].from == "eth+");
  REQUIRE(c.mgroups.size() == 3);
  CHECK(c.mgroups[2].source == IpPrefix::parse("2001:3::1"));
}

TEST_CASE("mrdisc is accepted with a warning, not silently") {
  auto r = parse("phyint eth0 enable mrdisc\n");
  REQUIRE(r.ok());
  CHECK(r.conf.phyints[0].mrdisc);
  REQUIRE(r.conf.warnings.size() == 1);
  CHECK(r.conf.warnings[0].find("/etc/smcroute.conf:1") == 0);
}

TEST_CASE("an mroute without \"to\" is accepted, as smcroute does, with a warning") {
  auto r = parse("mroute from eth0 group 239.1.1.1\n");
  REQUIRE(r.ok());
  REQUIRE(r.conf.mroutes.size() == 1);
  REQUIRE(r.conf.warnings.size() == 1);
  CHECK(r.conf.warnings[0].find("/etc/smcroute.conf:1") == 0);
  CHECK(r.conf.warnings[0].find("mroute without \"to\" forwards nothing") != std::string::npos);
}

TEST_CASE("bad lines are errors naming file, line and column") {
  struct Case {
    const char* text;
    std::uint32_t line, column;
    const char* says;
  };
  const Case cases[] = {
      {"mroute from eth0 group 10.0.0.1 to eth1\n", 1, 24, "not a multicast group"},
      {"\nmroute from eth0 group 239.1.1.1/2 to eth1\n", 2, 24, "must be /4 or longer"},
      {"mroute from eth0 source 239.0.0.1 group 239.1.1.1 to eth1\n", 1, 25, "is a multicast address"},
      {"mroute from eth0 source 2001:db8::1 group 239.1.1.1 to eth1\n", 1, 25, "same address family"},
      {"mroute group 239.1.1.1 to eth1\n", 1, 1, "needs \"from IFNAME\""},
      {"mroute from eth0 to eth1\n", 1, 1, "needs \"group"},
      {"mroute from eth0 group 239.1.1.1 to\n", 1, 1, "at least one interface"},
      {"mroute from eth0 group 239.1.1.1 via eth1\n", 1, 34, "unexpected \"via\""},
      {"mroute from eth0 group 239.1.1.1/xx to eth1\n", 1, 24, "not a valid multicast group"},
      {"mroute from eth0/1 group 239.1.1.1 to eth1\n", 1, 13, "not a valid interface name"},
      {"mgroup from eth0 group 239.1.1.1 to eth1\n", 1, 34, "unexpected \"to\""},
      {"phyint eth0 ttl-threshold 300\n", 1, 27, "out of range 1-255"},
      {"phyint eth0 enable fast\n", 1, 20, "unknown phyint option"},
      {"phyint\n", 1, 1, "needs an interface"},
      {"  mrout from eth0 group 239.1.1.1 to eth1\n", 1, 3, "unknown directive \"mrout\""},
      {"mroute from eth0 from eth1 group 239.1.1.1\n", 1, 18, "given twice"},
      {"include\n", 1, 1, "exactly one path"},
      {"include /etc/smcroute.d/missing.conf\n", 1, 9, "no such file"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.text));
    auto r = parse(c.text);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].where.file == "/etc/smcroute.conf");
    CHECK(r.errors[0].where.line == c.line);
    CHECK(r.errors[0].where.column == c.column);
    CAPTURE(r.errors[0].message);
    CHECK(r.errors[0].message.find(c.says) != std::string::npos);
  }
}

TEST_CASE("every bad line is reported, not only the first") {
  auto r = parse("mroute from eth0 group 1.2.3.4 to eth1\nphyint eth0 enable\nbogus\n");
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].where.line == 1);
  CHECK(r.errors[1].where.line == 3);
  CHECK(r.conf.phyints.size() == 1);
}

TEST_CASE("includes: sorted glob matches, relative to the including file, errors name the included file") {
  FakeFiles f;
  f.files["/etc/smcroute.d/10-routes.conf"] = "mroute from eth0 group 239.1.1.1 to eth1\n";
  f.files["/etc/smcroute.d/00-phyint.conf"] = "phyint eth0 enable ttl-threshold 3\n";
  f.files["/etc/smcroute.d/20-bad.conf"] = "\n\nmroute from eth0 group 10.1.1.1 to eth1\n";
  auto r = parse_smcroute_conf("include smcroute.d/*.conf\n", "/etc/smcroute.conf", f.sources());
  CHECK(r.conf.phyints.size() == 1);
  CHECK(r.conf.mroutes.size() == 1);
  CHECK(r.conf.files == std::vector<std::string>{"/etc/smcroute.conf", "/etc/smcroute.d/00-phyint.conf",
                                                 "/etc/smcroute.d/10-routes.conf", "/etc/smcroute.d/20-bad.conf"});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].where.file == "/etc/smcroute.d/20-bad.conf");
  CHECK(r.errors[0].where.line == 3);
  // A pattern that matches nothing is fine (an empty smcroute.d).
  CHECK(parse_smcroute_conf("include /nowhere/*.conf\n", "/etc/smcroute.conf", f.sources()).ok());
}

TEST_CASE("an include cycle is an error naming the chain, read once") {
  FakeFiles f;
  // Five times itself: without cycle detection 5^8 expansions.
  for (int i = 0; i < 5; ++i) f.files["/etc/loop.conf"] += "include /etc/loop.conf\n";
  auto r = parse_smcroute_conf(f.files["/etc/loop.conf"], "/etc/loop.conf", f.sources());
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0].message == "include cycle: /etc/loop.conf -> /etc/loop.conf");
  CHECK(r.conf.files.size() == 1);
  // Through another file, and a glob that matches the including file itself.
  f.files["/etc/a.conf"] = "include b.conf\n";
  f.files["/etc/b.conf"] = "include a.conf\n";
  r = parse_smcroute_conf(f.files["/etc/a.conf"], "/etc/a.conf", f.sources());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].where.file == "/etc/b.conf");
  CHECK(r.errors[0].message == "include cycle: /etc/a.conf -> /etc/b.conf -> /etc/a.conf");
  f.files["/etc/smcroute.d/x.conf"] = "include *.conf\n";
  r = parse_smcroute_conf(f.files["/etc/smcroute.d/x.conf"], "/etc/smcroute.d/x.conf", f.sources());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("include cycle") == 0);
}

TEST_CASE("includes without a cycle are capped in total") {
  // Each level includes the next four times: 4^8 files without a cap.
  FakeFiles f;
  for (int level = 0; level < 9; ++level) {
    std::string text = "phyint eth0 enable\n";
    for (int i = 0; i < 4; ++i) text += "include /etc/l" + std::to_string(level + 1) + ".conf\n";
    f.files["/etc/l" + std::to_string(level) + ".conf"] = level < 8 ? text : "phyint eth0 enable\n";
  }
  auto r = parse_smcroute_conf(f.files["/etc/l0.conf"], "/etc/l0.conf", f.sources());
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors.back().message.find("more than 256 files included in all") != std::string::npos);
  CHECK(r.conf.files.size() <= 257);
}

TEST_CASE("read_smcroute_conf reads real files") {
  auto dir = std::filesystem::temp_directory_path() / ("jc-smcroute-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "smcroute.d");
  std::ofstream(dir / "smcroute.conf") << "phyint eth0 enable\ninclude smcroute.d/*.conf\n";
  std::ofstream(dir / "smcroute.d" / "a.conf") << "mroute from eth0 source 10.0.0.1 group 239.0.0.1 to eth1\n";
  auto r = read_smcroute_conf((dir / "smcroute.conf").string());
  CHECK(r.ok());
  CHECK(r.conf.mroutes.size() == 1);
  auto missing = read_smcroute_conf((dir / "nope.conf").string());
  CHECK_FALSE(missing.ok());
  std::filesystem::remove_all(dir);
}

TEST_CASE("interface wildcards match by prefix, as smcroute's eth+") {
  CHECK(core::interface_matches("eth+", "eth0"));
  CHECK(core::interface_matches("eth+", "eth10"));
  CHECK_FALSE(core::interface_matches("eth+", "wlan0"));
  CHECK(core::interface_matches("eth0", "eth0"));
  CHECK_FALSE(core::interface_matches("eth0", "eth01"));
  CHECK(core::is_interface_wildcard("br+"));
  CHECK_FALSE(core::is_interface_wildcard("br0"));
}
