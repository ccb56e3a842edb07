// dvb_tuner_test.cpp — DvbTuner's lifetime with a stand-in dvblast (a
// shell script that only sleeps): stop_all() leaves no child behind, not
// even when the executor never runs again (daemon shutdown).
#include "media/source/dvb/dvb_tuner.hpp"

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace joincast::media;
namespace fs = std::filesystem;

namespace {

struct FakeDvblast {
  fs::path dir = fs::temp_directory_path() / ("jc-unit-dvb-" + std::to_string(::getpid()));
  FakeDvblast() {
    fs::create_directories(dir);
    std::ofstream(dir / "dvblast") << "#!/bin/sh\nexec sleep 30\n";
    fs::permissions(dir / "dvblast", fs::perms::owner_all);
  }
  ~FakeDvblast() { fs::remove_all(dir); }
  DvbTunerOptions options() const {
    DvbTunerOptions o;
    o.dvblast = (dir / "dvblast").string();
    o.runtime_dir = (dir / "run").string();
    o.adapters.push_back({-1, 0, "127.0.0.1:9/udp"});
    return o;
  }
};

// Gone and reaped: kill(0) succeeds on a zombie.
bool reaped(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

TEST_CASE("stop_all() kills and reaps dvblast even if the executor never runs again") {
  FakeDvblast fake;
  boost::asio::io_context io;
  int pid = 0;
  {
    DvbTuner tuner(io.get_executor(), fake.options());
    auto carrier = parse_dvblast_command("dvblast -f 11426500 -v 18 -s 27500000");
    REQUIRE(carrier);
    tuner.add_service(carrier.value(), 1, DvbOutput{"ff3e::1", 5004, 0, 0}, [](const Error&) {});
    auto tuned = tuner.tuned();
    REQUIRE(tuned.size() == 1);
    pid = tuned[0].pid;
    REQUIRE(pid > 0);
    CHECK_FALSE(reaped(pid));
    tuner.stop_all();
    CHECK(tuner.tuned().empty());
  }
  CHECK(reaped(pid));
}
