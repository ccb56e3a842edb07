// dvb_tuner.hpp — DVB-S/S2 services on demand through dvblast. One dvblast
// runs per tuned carrier, on a free adapter, with a config file listing one
// RTP output (PT 33, MPEG-TS) per requested service. More services of the
// same carrier are added and removed by rewriting that file and asking
// dvblast to reload it over its control socket (dvblastctl -r … reload),
// which keeps the other outputs running packet for packet. When the last
// service leaves, dvblast is stopped and the adapter is free again.
//
// An adapter is a /dev/dvb/adapterN (with frontend), or a UDP/RTP input
// (dvblast -D) carrying a whole multiplex: a remote receiver, or a test.
// joincast sends SAP/SDP for the services itself: describe_service() says
// what the SDP needs.
#pragma once

#include "media/source/dvb/dvb_channel.hpp"
#include "media/source/dvb/dvb_process.hpp"
#include "media/source/http/http_error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace joincast::media {

struct DvbAdapter {
  int number = -1;         // /dev/dvb/adapterN; -1 with udp_input
  int frontend = 0;        // dvblast -n
  std::string udp_input;   // dvblast -D argument, e.g. "127.0.0.1:1234/udp"
  std::string describe() const;
};

struct DvbOutput {
  std::string group;       // multicast address (IPv6 or IPv4), no brackets
  std::uint16_t port = 5004;
  unsigned ifindex = 0;    // egress interface; 0 = routing decides
  unsigned ttl = 0;        // 0 = dvblast's default
  bool operator==(const DvbOutput&) const = default;
  // The config file's address field: "[ff3e::1]:5004/ifindex=3".
  std::string dvblast_target() const;
};

// What an SDP for a DVB service needs (the SDP writer lives in media/).
struct DvbStreamDescription {
  std::string name;               // service name -> s=
  std::string carrier;            // for i=: "11426500 kHz H (Astra DAB)"
  std::uint8_t payload_type = 33; // RFC 3551: MP2T
  std::string encoding = "MP2T/90000";
  std::uint16_t port = 5004;
};
DvbStreamDescription describe_service(const DvbCarrier& carrier, std::uint16_t service_id, const DvbOutput& out);

struct DvbTunerOptions {
  std::string dvblast = "dvblast";
  std::string dvblastctl = "dvblastctl";
  std::string runtime_dir = "/run/joincast/dvb";  // config files, control sockets, logs
  std::vector<DvbAdapter> adapters;
  std::vector<std::string> extra_args;  // appended to every dvblast command line
  std::chrono::milliseconds start_timeout{10'000};  // until the control socket answers
};

class DvbTuner {
 public:
  using Done = std::function<void(const Error&)>;
  // A dvblast died on its own: every service on that carrier has stopped.
  using FailureHandler = std::function<void(const DvbCarrier& carrier, const Error& why)>;

  DvbTuner(boost::asio::any_io_executor executor, DvbTunerOptions options);
  ~DvbTuner();
  DvbTuner(const DvbTuner&) = delete;
  DvbTuner& operator=(const DvbTuner&) = delete;

  // Sends service_id of carrier to out. Tunes a free adapter if the carrier
  // is not tuned yet (SourceErrc::no_free_adapter if there is none).
  void add_service(const DvbCarrier& carrier, std::uint16_t service_id, const DvbOutput& out, Done done);
  // Stops that output; the last one on a carrier stops its dvblast.
  void remove_service(const DvbCarrier& carrier, std::uint16_t service_id, const DvbOutput& out, Done done);
  void on_failure(FailureHandler handler) { on_failure_ = std::move(handler); }
  // Stops every dvblast (shutdown).
  void stop_all();

  struct TunedCarrier {
    std::string adapter;
    DvbCarrier carrier;
    std::vector<std::pair<std::uint16_t, DvbOutput>> outputs;
    int pid = 0;
    bool ready = false;
  };
  std::vector<TunedCarrier> tuned() const;

 private:
  struct Instance;
  std::shared_ptr<Instance> find(const DvbCarrier& carrier) const;
  void write_config(Instance& in, std::error_code& ec);
  void start(const std::shared_ptr<Instance>& in, Done done);
  void poll_ready(const std::shared_ptr<Instance>& in);
  void reload(const std::shared_ptr<Instance>& in, Done done);
  void exited(const std::shared_ptr<Instance>& in, int status);

  boost::asio::any_io_executor executor_;
  DvbTunerOptions options_;
  std::map<std::size_t, std::shared_ptr<Instance>> instances_;  // by adapter index
  std::set<std::shared_ptr<ChildProcess>> retiring_;  // dvblasts stopped by remove_service(), until they exit
  FailureHandler on_failure_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace joincast::media
