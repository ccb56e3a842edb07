// dvb_tuner.cpp — see dvb_tuner.hpp.
#include "media/source/dvb/dvb_tuner.hpp"

#include <boost/asio/post.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace joincast::media {

namespace fs = std::filesystem;

struct DvbTuner::Instance {
  std::size_t adapter_index = 0;
  DvbCarrier carrier;
  std::vector<std::pair<std::uint16_t, DvbOutput>> outputs;
  std::shared_ptr<ChildProcess> process;
  std::string config_path, socket_path, log_path;
  bool ready = false;
  bool stopping = false;
  std::vector<Done> waiting;  // add_service calls waiting for readiness
  bool changed_while_starting = false;
  std::unique_ptr<boost::asio::steady_timer> timer;
  std::chrono::steady_clock::time_point started;
};

std::string DvbAdapter::describe() const {
  if (!udp_input.empty()) return "udp input " + udp_input;
  return "adapter " + std::to_string(number) + (frontend ? " frontend " + std::to_string(frontend) : "");
}

std::string DvbOutput::dvblast_target() const {
  std::string t = group.find(':') != std::string::npos ? "[" + group + "]" : group;
  t += ":" + std::to_string(port);
  if (ifindex) t += "/ifindex=" + std::to_string(ifindex);
  if (ttl) t += "/ttl=" + std::to_string(ttl);
  return t;
}

DvbStreamDescription describe_service(const DvbCarrier& carrier, std::uint16_t service_id, const DvbOutput& out) {
  DvbStreamDescription d;
  const DvbService* s = carrier.service(service_id);
  d.name = s && !s->name.empty() ? s->name : "DVB service " + std::to_string(service_id);
  d.carrier = carrier.describe();
  d.port = out.port;
  return d;
}

DvbTuner::DvbTuner(boost::asio::any_io_executor executor, DvbTunerOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

DvbTuner::~DvbTuner() {
  *alive_ = false;
  stop_all();
}

void DvbTuner::stop_all() {
  // Each child's exit handler holds its Instance (and so the child): it is
  // dropped here, or the pair keeps itself alive, unreaped, whenever the
  // executor stops before dvblast has exited (daemon shutdown). Without an
  // owner the child is killed and reaped by ~ChildProcess.
  for (auto& [index, in] : instances_) {
    in->stopping = true;
    if (in->timer) in->timer->cancel();
    if (in->process) {
      in->process->on_exit(nullptr);
      in->process->terminate(std::chrono::milliseconds(500));
    }
    std::error_code ignored;
    fs::remove(in->config_path, ignored);
  }
  instances_.clear();
  for (const auto& p : retiring_) p->on_exit(nullptr);
  retiring_.clear();
}

std::vector<DvbTuner::TunedCarrier> DvbTuner::tuned() const {
  std::vector<TunedCarrier> out;
  for (const auto& [index, in] : instances_)
    out.push_back({options_.adapters[index].describe(), in->carrier, in->outputs, in->process ? in->process->pid() : 0,
                   in->ready});
  return out;
}

std::shared_ptr<DvbTuner::Instance> DvbTuner::find(const DvbCarrier& carrier) const {
  for (const auto& [index, in] : instances_)
    if (!in->stopping && in->carrier.same_tuning(carrier)) return in;
  return nullptr;
}

void DvbTuner::write_config(Instance& in, std::error_code& ec) {
  // dvblast's format: <target> <always on> <service id>. "Always on" 0:
  // dvblast must not reset a CAM over a service that merely went quiet.
  std::string tmp = in.config_path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    for (const auto& [sid, out] : in.outputs) f << out.dvblast_target() << "\t0\t" << sid << "\n";
    if (!f) {
      ec = std::make_error_code(std::errc::io_error);
      return;
    }
  }
  fs::rename(tmp, in.config_path, ec);
}

void DvbTuner::add_service(const DvbCarrier& carrier, std::uint16_t service_id, const DvbOutput& out, Done done) {
  auto post_done = [this, done](Error f) {
    boost::asio::post(executor_, [done, f] { done(f); });
  };
  if (auto in = find(carrier)) {
    for (const auto& [sid, o] : in->outputs)
      if (sid == service_id && o == out) return post_done({});
    in->outputs.emplace_back(service_id, out);
    std::error_code ec;
    write_config(*in, ec);
    if (ec) {
      in->outputs.pop_back();
      return post_done({make_error_code(SourceErrc::tuner_failed), "writing " + in->config_path + ": " + ec.message()});
    }
    if (!in->ready) {
      in->changed_while_starting = true;
      in->waiting.push_back(std::move(done));
      return;
    }
    // A failed reload takes the new output back out again.
    return reload(in, [this, in, service_id, out, done](const Error& f) {
      if (f) {
        auto it = std::find(in->outputs.begin(), in->outputs.end(), std::make_pair(service_id, out));
        if (it != in->outputs.end()) in->outputs.erase(it);
        std::error_code ignored;
        write_config(*in, ignored);
      }
      done(f);
    });
  }
  // A free adapter: configured and not tuned by us.
  std::size_t index = options_.adapters.size();
  for (std::size_t i = 0; i < options_.adapters.size(); ++i)
    if (!instances_.contains(i)) {
      index = i;
      break;
    }
  if (index == options_.adapters.size()) {
    std::string busy;
    for (const auto& [i, in] : instances_)
      busy += (busy.empty() ? "" : ", ") + options_.adapters[i].describe() + " on " + in->carrier.describe();
    return post_done({make_error_code(SourceErrc::no_free_adapter),
                      "no free DVB adapter for " + carrier.describe() +
                          (options_.adapters.empty() ? ": none is configured" : ": " + busy)});
  }
  auto in = std::make_shared<Instance>();
  in->adapter_index = index;
  in->carrier = carrier;
  in->outputs.emplace_back(service_id, out);
  std::error_code ec;
  fs::create_directories(options_.runtime_dir, ec);
  std::string base = options_.runtime_dir + "/dvblast-" + std::to_string(index);
  in->config_path = base + ".conf";
  in->socket_path = base + ".sock";
  in->log_path = base + ".log";
  write_config(*in, ec);
  if (ec)
    return post_done({make_error_code(SourceErrc::tuner_failed), "writing " + in->config_path + ": " + ec.message()});
  instances_[index] = in;
  start(in, std::move(done));
}

void DvbTuner::start(const std::shared_ptr<Instance>& in, Done done) {
  const DvbAdapter& a = options_.adapters[in->adapter_index];
  std::vector<std::string> argv = {options_.dvblast};
  if (!a.udp_input.empty()) {
    // dvblast 3.4 sizes its UDP input buffer so that the 7th TS packet of a
    // full 1316-byte datagram is cut off (it reports "TS discontinuity" on
    // every PID); a larger MTU avoids that unless the operator set one.
    std::string input = a.udp_input;
    if (input.find("/mtu=") == std::string::npos) input += "/mtu=1500";
    argv.insert(argv.end(), {"-D", input});
  } else {
    argv.insert(argv.end(), {"-a", std::to_string(a.number), "-n", std::to_string(a.frontend)});
    auto tuning = in->carrier.dvblast_tuning();
    argv.insert(argv.end(), tuning.begin(), tuning.end());
  }
  argv.insert(argv.end(), {"-c", in->config_path, "-r", in->socket_path});
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::error_code ignored;
  fs::remove(in->socket_path, ignored);
  fs::remove(in->log_path, ignored);
  auto child = ChildProcess::spawn(executor_, argv, in->log_path);
  if (!child) {
    instances_.erase(in->adapter_index);
    boost::asio::post(executor_, [done, ec = child.error(), argv0 = argv[0]] {
      done({make_error_code(SourceErrc::tuner_failed), "cannot start " + argv0 + ": " + ec.message()});
    });
    return;
  }
  in->process = child.value();
  in->started = std::chrono::steady_clock::now();
  in->waiting.push_back(std::move(done));
  std::weak_ptr<bool> alive = alive_;
  in->process->on_exit([this, alive, in](int status) {
    if (alive.expired()) return;
    exited(in, status);
  });
  in->timer = std::make_unique<boost::asio::steady_timer>(executor_);
  poll_ready(in);
}

// dvblast opens its control socket once it has read its configuration and
// its input: that is the moment outputs can be reloaded.
void DvbTuner::poll_ready(const std::shared_ptr<Instance>& in) {
  struct stat st;
  if (::stat(in->socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    in->ready = true;
    auto waiting = std::move(in->waiting);
    in->waiting.clear();
    auto finish = [waiting](const Error& f) {
      for (const auto& d : waiting) d(f);
    };
    if (in->changed_while_starting) {
      in->changed_while_starting = false;
      return reload(in, finish);
    }
    return finish({});
  }
  if (std::chrono::steady_clock::now() - in->started > options_.start_timeout) {
    auto waiting = std::move(in->waiting);
    in->waiting.clear();
    in->stopping = true;
    in->process->terminate();
    instances_.erase(in->adapter_index);
    Error f{make_error_code(SourceErrc::tuner_failed),
                    "dvblast on " + options_.adapters[in->adapter_index].describe() + " for " + in->carrier.describe() +
                        " did not open its control socket within " +
                        std::to_string(options_.start_timeout.count()) + " ms: " + log_tail(in->log_path)};
    for (const auto& d : waiting) d(f);
    return;
  }
  in->timer->expires_after(std::chrono::milliseconds(20));
  std::weak_ptr<bool> alive = alive_;
  // The wait holds the instance weakly: a stopped tuner's instance (and
  // its child) must not outlive stop_all() in a handler that never runs.
  in->timer->async_wait([this, alive, weak = std::weak_ptr<Instance>(in)](const boost::system::error_code& ec) {
    auto still = weak.lock();
    if (ec || alive.expired() || !still || still->stopping) return;
    poll_ready(still);
  });
}

void DvbTuner::reload(const std::shared_ptr<Instance>& in, Done done) {
  std::vector<std::string> argv = {options_.dvblastctl, "-r", in->socket_path, "-t", "5", "reload"};
  auto child = ChildProcess::spawn(executor_, argv, in->log_path);
  if (!child) {
    boost::asio::post(executor_, [done, ec = child.error(), argv0 = argv[0]] {
      done({make_error_code(SourceErrc::tuner_failed), "cannot run " + argv0 + ": " + ec.message()});
    });
    return;
  }
  auto process = child.value();
  process->on_exit([process, done, in](int status) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return done({});
    done({make_error_code(SourceErrc::tuner_failed),
          "dvblastctl reload for " + in->carrier.describe() + " failed (" + describe_exit(status) + ")"});
  });
}

void DvbTuner::remove_service(const DvbCarrier& carrier, std::uint16_t service_id, const DvbOutput& out, Done done) {
  auto in = find(carrier);
  auto it = in ? std::find(in->outputs.begin(), in->outputs.end(), std::make_pair(service_id, out))
               : std::vector<std::pair<std::uint16_t, DvbOutput>>::iterator();
  if (!in || it == in->outputs.end()) {
    // Already gone (dvblast died, or never added): nothing to undo.
    boost::asio::post(executor_, [done] { done({}); });
    return;
  }
  in->outputs.erase(it);
  if (in->outputs.empty()) {
    in->stopping = true;
    if (in->timer) in->timer->cancel();
    for (const auto& d : in->waiting)
      boost::asio::post(executor_, [d] { d({make_error_code(SourceErrc::tuner_failed), "service removed while starting"}); });
    in->waiting.clear();
    instances_.erase(in->adapter_index);
    std::string config = in->config_path;
    // retiring_ keeps the process object until dvblast has exited (or
    // stop_all()); the handler itself holds no owning reference.
    retiring_.insert(in->process);
    std::weak_ptr<bool> alive = alive_;
    in->process->on_exit([this, alive, done, config, process = std::weak_ptr<ChildProcess>(in->process)](int) {
      std::error_code ignored;
      fs::remove(config, ignored);
      if (!alive.expired()) retiring_.erase(process.lock());
      done({});
    });
    in->process->terminate();
    return;
  }
  std::error_code ec;
  write_config(*in, ec);
  if (ec) {
    boost::asio::post(executor_, [done, ec, path = in->config_path] {
      done({make_error_code(SourceErrc::tuner_failed), "writing " + path + ": " + ec.message()});
    });
    return;
  }
  if (!in->ready) {
    in->changed_while_starting = true;
    boost::asio::post(executor_, [done] { done({}); });
    return;
  }
  reload(in, std::move(done));
}

void DvbTuner::exited(const std::shared_ptr<Instance>& in, int status) {
  if (in->stopping) return;
  in->stopping = true;
  if (in->timer) in->timer->cancel();
  auto found = instances_.find(in->adapter_index);
  if (found != instances_.end() && found->second == in) instances_.erase(found);
  Error f{make_error_code(SourceErrc::tuner_failed),
                  "dvblast on " + options_.adapters[in->adapter_index].describe() + " for " + in->carrier.describe() +
                      " ended (" + describe_exit(status) + "): " + log_tail(in->log_path)};
  auto waiting = std::move(in->waiting);
  in->waiting.clear();
  for (const auto& d : waiting) d(f);
  if (in->ready && on_failure_) on_failure_(in->carrier, f);
}

}  // namespace joincast::media
