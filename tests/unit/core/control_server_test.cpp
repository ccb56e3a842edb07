// control_server_test.cpp — the control socket as a client sees it: a
// command's error value becomes {"ok":false,"error":…}, a malformed request
// or a handler that throws is answered and the connection keeps working.
#include "daemon/core/control_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

using namespace joincast;
using namespace joincast::daemon;
using Json = nlohmann::json;
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

struct Fixture {
  std::filesystem::path dir;
  asio::io_context io;
  std::unique_ptr<core::ControlServer> server;
  std::thread thread;

  Fixture() {
    char tmpl[] = "/tmp/jc-control-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    dir = tmpl;
    server = std::make_unique<core::ControlServer>(io, (dir / "control.sock").string(), 0600, "");
    server->add("echo", "answers its request", [](const Json& r) { return Json{{"got", r}}; });
    server->add("refuse", "fails with a message", [](const Json&) -> Result<Json> {
      return Error(std::errc::invalid_argument, "refuse: the group 10.0.0.1 is not a multicast group");
    });
    server->add("crash", "a defect: throws", [](const Json&) -> Json { throw std::logic_error("bug"); });
    REQUIRE(!server->open());
  }
  ~Fixture() {
    io.stop();
    if (thread.joinable()) thread.join();
    server.reset();
    std::filesystem::remove_all(dir);
  }
  void run() {
    // The pending accept keeps run() going until stop().
    thread = std::thread([this] { io.run(); });
  }
};

Json ask(stream::socket& s, asio::streambuf& in, const std::string& line) {
  asio::write(s, asio::buffer(line + "\n"));
  std::size_t n = asio::read_until(s, in, '\n');
  std::string answer(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(n));
  in.consume(n);
  return Json::parse(answer);
}

}  // namespace

TEST_CASE("control socket: errors are answers, and the connection survives them") {
  Fixture f;
  f.run();
  asio::io_context client;
  stream::socket s(client);
  s.connect(stream::endpoint((f.dir / "control.sock").string()));
  asio::streambuf in;

  auto ok = ask(s, in, R"({"cmd":"echo","x":1})");
  CHECK(ok["ok"] == true);
  CHECK(ok["got"]["x"] == 1);

  auto refused = ask(s, in, R"({"cmd":"refuse"})");
  CHECK(refused["ok"] == false);
  CHECK(refused["error"] == "refuse: the group 10.0.0.1 is not a multicast group");

  auto malformed = ask(s, in, R"({"cmd": "echo")");
  CHECK(malformed["ok"] == false);
  CHECK(malformed["error"].get<std::string>().find("malformed request") != std::string::npos);

  auto not_object = ask(s, in, R"(["echo"])");
  CHECK(not_object["ok"] == false);

  auto crashed = ask(s, in, R"({"cmd":"crash"})");
  CHECK(crashed["ok"] == false);
  CHECK(crashed["error"].get<std::string>().find("internal error: bug") != std::string::npos);

  auto unknown = ask(s, in, R"({"cmd":"nope"})");
  CHECK(unknown["error"].get<std::string>().find("unknown command \"nope\"") != std::string::npos);

  // Still answering on the same connection after all of that.
  auto again = ask(s, in, R"({"cmd":"echo","x":2})");
  CHECK(again["got"]["x"] == 2);
}
