// fuzz_smcroute_conf.cpp — smcroute.conf with includes. The input is the
// top file /etc/smcroute.conf; every include resolves to one of three
// files cut from the input at NUL bytes (/etc/smcroute.d/{a,b,c}.conf, a
// glob matching all of them, the top file itself), so cycles and fan-out
// are reachable. Contract: parsing ends, includes stay within the cap,
// every error names a file that was read and a line in it.
#include "daemon/routing/smcroute_conf.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <map>

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::map<std::string, std::string> files = {{"/etc/smcroute.conf", std::string(in.field(0))},
                                              {"/etc/smcroute.d/a.conf", std::string(in.field(1))},
                                              {"/etc/smcroute.d/b.conf", std::string(in.field(2))},
                                              {"/etc/smcroute.d/c.conf", std::string(in.field(3))}};
  daemon::routing::SmcrouteSources sources{
      [&](const std::string& path) -> joincast::Result<std::string> {
        auto it = files.find(path);
        if (it == files.end()) return joincast::Error(std::errc::no_such_file_or_directory);
        return it->second;
      },
      [&](const std::string& pattern) {
        std::vector<std::string> out;
        if (pattern.find('*') != std::string::npos) {
          auto dir = pattern.substr(0, pattern.rfind('/') + 1);
          for (const auto& [name, text] : files)
            if (name.starts_with(dir)) out.push_back(name);
        } else if (files.contains(pattern)) {
          out.push_back(pattern);
        }
        return out;
      }};
  auto r = daemon::routing::parse_smcroute_conf(files["/etc/smcroute.conf"], "/etc/smcroute.conf", sources);
  FUZZ_CHECK(!r.conf.files.empty() && r.conf.files.size() <= 257);
  for (const auto& e : r.errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(std::find(r.conf.files.begin(), r.conf.files.end(), e.where.file) != r.conf.files.end());
    FUZZ_CHECK(e.where.line >= 1);
  }
  return 0;
}
