// fuzz_control.cpp — requests on the control socket, through a real
// ControlServer on a Unix socket in a private directory: one line per
// input (line breaks removed). Contract: every request gets exactly one
// answer line, a JSON object with a boolean "ok", and an "error" sentence
// when it is false; the server keeps serving.
#include "daemon/core/control_server.hpp"
#include "fuzz_check.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unistd.h>

using namespace joincast;
namespace asio = boost::asio;

namespace {

struct Harness {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("jc-fuzz-control-" + std::to_string(::getpid()));
  asio::io_context io;
  daemon::core::ControlServer server{io, (dir / "control.sock").string(), 0600, ""};
  Harness() {
    std::filesystem::create_directories(dir);
    FUZZ_CHECK(!server.open());
    server.add("echo", "answers the request", [](const nlohmann::json& request) { return request; });
  }
  ~Harness() { std::filesystem::remove_all(dir); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness h;
  std::string line(reinterpret_cast<const char*>(data), size);
  line.erase(std::remove(line.begin(), line.end(), '\n'), line.end());
  line += '\n';
  asio::local::stream_protocol::socket client(h.io);
  client.connect(asio::local::stream_protocol::endpoint(h.server.path()));
  asio::streambuf answer;
  bool done = false;
  asio::async_write(client, asio::buffer(line), [](const boost::system::error_code&, std::size_t) {});
  asio::async_read_until(client, answer, '\n', [&](const boost::system::error_code& ec, std::size_t) {
    FUZZ_CHECK(!ec);
    done = true;
  });
  h.io.restart();
  for (int i = 0; i < 1000 && !done; ++i) h.io.run_for(std::chrono::milliseconds(5));
  FUZZ_CHECK(done);
  std::string text(asio::buffers_begin(answer.data()), asio::buffers_end(answer.data()));
  FUZZ_CHECK(std::count(text.begin(), text.end(), '\n') == 1 && text.back() == '\n');
  auto j = nlohmann::json::parse(text, nullptr, false);
  FUZZ_CHECK(!j.is_discarded() && j.is_object());
  FUZZ_CHECK(j.contains("ok") && j["ok"].is_boolean());
  if (!j["ok"].get<bool>()) FUZZ_CHECK(j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty());
  client.close();
  h.io.restart();
  h.io.poll();  // let the server see the close
  return 0;
}
