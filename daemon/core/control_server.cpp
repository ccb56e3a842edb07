// control_server.cpp — see control_server.hpp.
#include "daemon/core/control_server.hpp"

#include "daemon/core/log.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <filesystem>

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace joincast::daemon::core {

namespace {
// A request line longer than this is refused and the connection closed.
constexpr std::size_t max_request_bytes = 64 * 1024;
// A watcher that lets this much output pile up is disconnected.
constexpr std::size_t max_queued_bytes = 4 * 1024 * 1024;
}  // namespace

class ControlServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ControlServer& server, stream::socket socket)
      : server_(server), socket_(std::move(socket)), input_(max_request_bytes) {}

  void start() { read(); }
  void stop() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  void send(const Json& message) {
    std::string line = message.dump(-1, ' ', false, Json::error_handler_t::replace);
    line.push_back('\n');
    queued_ += line.size();
    if (queued_ > max_queued_bytes) {
      stop();
      return;
    }
    out_.push_back(std::move(line));
    if (out_.size() == 1) write();
  }

  std::set<std::string> topics;

 private:
  // One request line → one answer. Handlers report refusals as values; what
  // nlohmann throws for a field of the wrong type is the client's mistake,
  // and anything else thrown is a defect of ours, logged, never let out of
  // the Asio handler.
  Json answer(const std::string& line) {
    Json request = Json::parse(line, nullptr, false);
    if (request.is_discarded()) return {{"ok", false}, {"error", "malformed request: not a JSON object on one line"}};
    if (!request.is_object()) return {{"ok", false}, {"error", "malformed request: a request must be a JSON object"}};
    try {
      return server_.dispatch(request, shared_from_this());
    } catch (const Json::exception& e) {
      return {{"ok", false}, {"error", fmt::format("malformed request: {}", e.what())}};
    } catch (const std::exception& e) {
      log::error("control: a request failed inside joincastd: {}", e.what());
      return {{"ok", false}, {"error", fmt::format("internal error: {}", e.what())}};
    }
  }

  void read() {
    asio::async_read_until(socket_, input_, '\n', [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (ec) {
        if (ec == asio::error::not_found)
          self->send({{"ok", false}, {"error", "request longer than 64 KiB"}});
        self->server_.connections_.erase(self);
        return;
      }
      std::string line(asio::buffers_begin(self->input_.data()), asio::buffers_begin(self->input_.data()) + static_cast<std::ptrdiff_t>(n));
      self->input_.consume(n);
      self->send(self->answer(line));
      self->read();
    });
  }

  void write() {
    asio::async_write(socket_, asio::buffer(out_.front()), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (ec) {
        self->server_.connections_.erase(self);
        return;
      }
      self->queued_ -= self->out_.front().size();
      self->out_.pop_front();
      if (!self->out_.empty()) self->write();
    });
  }

  ControlServer& server_;
  stream::socket socket_;
  asio::streambuf input_;
  std::deque<std::string> out_;
  std::size_t queued_ = 0;
};

ControlServer::ControlServer(asio::io_context& io, std::string path, unsigned mode, std::string group)
    : io_(io), path_(std::move(path)), mode_(mode), group_(std::move(group)) {
  add("help", "list the commands this daemon answers", [this](const Json&) {
    Json list = Json::object();
    for (const auto& [name, c] : commands_) list[name] = c.summary;
    return Json{{"commands", list}};
  });
}

ControlServer::~ControlServer() { close(); }

std::error_code ControlServer::open() {
  std::error_code fs_ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), fs_ec);
  if (fs_ec) return fs_ec;
  boost::system::error_code ec;
  // A socket file left by a daemon that died: is anyone answering?
  if (std::filesystem::exists(path_)) {
    stream::socket probe(io_);
    probe.connect(stream::endpoint(path_), ec);
    if (!ec) return std::make_error_code(std::errc::address_in_use);
    std::filesystem::remove(path_, fs_ec);
  }
  auto acceptor = std::make_unique<stream::acceptor>(io_);
  acceptor->open(stream(), ec);
  if (!ec) acceptor->bind(stream::endpoint(path_), ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  if (::chmod(path_.c_str(), mode_) < 0) return {errno, std::generic_category()};
  if (!group_.empty()) {
    struct group* g = ::getgrnam(group_.c_str());
    if (!g) return std::make_error_code(std::errc::invalid_argument);
    if (::chown(path_.c_str(), static_cast<uid_t>(-1), g->gr_gid) < 0) return {errno, std::generic_category()};
  }
  acceptor_ = std::move(acceptor);
  accept();
  return {};
}

void ControlServer::close() {
  if (!acceptor_) return;
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
  for (const auto& c : connections_) c->stop();
  connections_.clear();
  std::error_code fs_ignored;
  std::filesystem::remove(path_, fs_ignored);
}

void ControlServer::accept() {
  acceptor_->async_accept([this](boost::system::error_code ec, stream::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_) return;
    if (!ec) {
      auto c = std::make_shared<Connection>(*this, std::move(socket));
      connections_.insert(c);
      c->start();
    }
    accept();
  });
}

void ControlServer::add(const std::string& command, std::string summary, Handler handler) {
  commands_[command] = {std::move(summary), std::move(handler)};
}

void ControlServer::publish(const std::string& topic, const Json& message) {
  Json line = message;
  line["topic"] = topic;
  for (const auto& c : connections_) {
    if (c->topics.count(topic) || c->topics.count("*")) c->send(line);
  }
}

ControlServer::Json ControlServer::dispatch(const Json& request, const std::shared_ptr<Connection>& from) {
  auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string()) return {{"ok", false}, {"error", "a request needs \"cmd\""}};
  const std::string name = cmd->get<std::string>();
  if (name == "watch") {
    // {"cmd":"watch","topics":["membership"]}; no topics: everything.
    from->topics.clear();
    auto topics = request.find("topics");
    if (topics == request.end()) from->topics.insert("*");
    else
      for (const auto& t : *topics) from->topics.insert(t.get<std::string>());
    return {{"ok", true}, {"watching", from->topics}};
  }
  auto it = commands_.find(name);
  if (it == commands_.end())
    return {{"ok", false}, {"error", fmt::format("unknown command \"{}\" (try \"help\")", name)}};
  Result<Json> answer = it->second.handler(request);
  if (!answer) return {{"ok", false}, {"error", answer.error().message()}};
  Json out = std::move(answer).value();
  if (!out.is_object()) out = Json{{"result", out}};
  out["ok"] = true;
  return out;
}

}  // namespace joincast::daemon::core
