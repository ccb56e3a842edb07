// cmd_listen.cpp — `joincast listen GROUP`: a test receiver. Joins a group
// on an interface, prints the SDP it hears on SAP and the RTP/RTCP
// statistics of the stream, and sends RTCP receiver reports (RR + SDES
// CNAME, RFC 3550 §6.4.2) to port 5005 of the group like a real player,
// ending with a BYE. It needs no daemon.
#include "media/engine/multicast_socket.hpp"
#include "media/rtcp/rtcp.hpp"
#include "media/announce/sap.hpp"
#include "media/announce/sdp.hpp"
#include "tools/commands.hpp"

#include <fmt/format.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace joincast::tools {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace media = joincast::media;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
  boost::asio::ip::address group;
  std::string interface;
  unsigned ifindex = 0;
  std::uint16_t port = 5004;
  std::uint16_t sap_port = 9875;
  std::optional<double> duration;
  double interval = 1.0;
  bool rtcp = true;
  unsigned hops = 16;
  std::string cname;
};

// What we know about the stream's sender (RFC 3550 §A.1, §A.3, §A.8).
struct SenderState {
  std::uint32_t ssrc = 0;
  int payload_type = -1;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint16_t base_seq = 0;
  std::uint16_t max_seq = 0;
  std::uint32_t cycles = 0;
  std::uint64_t expected_prior = 0;
  std::uint64_t received_prior = 0;
  double jitter = 0;  // RTP timestamp units
  std::optional<double> last_transit;
  std::optional<std::uint32_t> last_sr;  // middle 32 bits of the last SR's NTP
  Clock::time_point last_sr_at{};
  std::uint64_t sender_reports = 0;
  std::uint64_t interval_bytes = 0;

  std::uint64_t extended_max() const { return std::uint64_t{cycles} + max_seq; }
  std::uint64_t expected() const { return extended_max() - base_seq + 1; }
  std::int64_t lost() const { return static_cast<std::int64_t>(expected()) - static_cast<std::int64_t>(packets); }
};

std::optional<unsigned> clock_rate_from_sdp(const std::string& sdp, int pt) {
  if (pt == 14 || pt == 33) return 90000u;  // RFC 3551 static types
  auto key = fmt::format("a=rtpmap:{} ", pt);
  auto at = sdp.find(key);
  if (at == std::string::npos) return std::nullopt;
  auto slash = sdp.find('/', at);
  auto eol = sdp.find('\r', at);
  if (slash == std::string::npos || slash > eol) return std::nullopt;
  try {
    return static_cast<unsigned>(std::stoul(sdp.substr(slash + 1)));
  } catch (...) {
    return std::nullopt;
  }
}

std::string sender_address(const sockaddr_storage& from) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (from.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr, buf, sizeof buf);
  else
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, buf, sizeof buf);
  return buf;
}

Options parse(Context& ctx) {
  Options o;
  std::optional<std::string> group;
  auto& a = ctx.args;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto value = [&]() -> std::string {
      if (i + 1 >= a.size()) throw CliError(a[i] + " needs a value");
      return a[++i];
    };
    auto number = [&](const std::string& what, const std::string& text) {
      try {
        std::size_t used = 0;
        double v = std::stod(text, &used);
        if (used != text.size() || !(v >= 0)) throw std::invalid_argument(text);
        return v;
      } catch (const std::exception&) {
        throw CliError(fmt::format("{}: \"{}\" is not a non-negative number", what, text));
      }
    };
    const auto& arg = a[i];
    if (arg == "--interface" || arg == "-i") o.interface = value();
    else if (arg == "--port") o.port = static_cast<std::uint16_t>(number(arg, value()));
    else if (arg == "--sap-port") o.sap_port = static_cast<std::uint16_t>(number(arg, value()));
    else if (arg == "--duration") o.duration = number(arg, value());
    else if (arg == "--interval") o.interval = std::max(0.1, number(arg, value()));
    else if (arg == "--no-rtcp") o.rtcp = false;
    else if (arg == "--hops") o.hops = static_cast<unsigned>(number(arg, value()));
    else if (arg == "--cname") o.cname = value();
    else if (!arg.empty() && arg[0] == '-') throw CliError("unknown option " + arg);
    else if (!group) group = arg;
    else throw CliError("one group only (got \"" + arg + "\" too)");
  }
  if (!group) throw CliError("which group? (joincast listen GROUP)");
  boost::system::error_code ec;
  o.group = boost::asio::ip::make_address(*group, ec);
  if (ec || !o.group.is_multicast()) throw CliError(fmt::format("\"{}\" is not a multicast group address", *group));
  if (!o.interface.empty()) {
    auto index = media::interface_index(o.interface);
    if (!index) throw CliError(fmt::format("no network interface named \"{}\"", o.interface));
    o.ifindex = index.value();
  }
  if (o.hops == 0 || o.hops > 255) throw CliError("--hops must be 1..255");
  if (o.cname.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    o.cname = fmt::format("joincast-listen-{}@{}", getpid(), host);
  }
  return o;
}

media::UniqueFd open_or_throw(const boost::asio::ip::address& group, std::uint16_t port, unsigned ifindex) {
  media::ReceiverSocketOptions r;
  r.group = group;
  r.port = port;
  r.ifindex = ifindex;
  auto fd = media::open_receiver_socket(r);
  if (!fd)
    throw CliError(fmt::format("cannot join [{}]:{}: {}", media::sdp_address(group), port, fd.error().message()));
  return std::move(fd.value());
}

class Listener {
 public:
  Listener(Options o, bool json) : o_(std::move(o)), json_(json), rng_(std::random_device{}()) {
    ssrc_ = static_cast<std::uint32_t>(rng_()) | 1u;
    rtp_ = open_or_throw(o_.group, o_.port, o_.ifindex);
    rtcp_ = open_or_throw(o_.group, static_cast<std::uint16_t>(o_.port + 1), o_.ifindex);
    sap_ = open_or_throw(o_.group, o_.sap_port, o_.ifindex);
    if (o_.rtcp) {
      media::SenderSocketOptions s;
      s.source = o_.group.is_v6() ? boost::asio::ip::address(boost::asio::ip::address_v6::any())
                                  : boost::asio::ip::address(boost::asio::ip::address_v4::any());
      s.ifindex = o_.ifindex;
      s.hops = o_.hops;
      auto fd = media::open_sender_socket(s);
      if (!fd) throw CliError(fmt::format("cannot send RTCP on {}: {}", o_.interface, fd.error().message()));
      send_ = std::move(fd.value());
      rtcp_to_ = media::SocketAddress::from(o_.group, static_cast<std::uint16_t>(o_.port + 1), o_.ifindex);
    }
  }

  int run() {
    started_ = Clock::now();
    auto next_print = started_ + interval();
    // The sockets are joined by now: say so (scripts wait for this line).
    if (json_)
      print_json_line({{"event", "listening"}, {"group", media::sdp_address(o_.group)}, {"interface", o_.interface},
                       {"ports", {o_.port, o_.port + 1, o_.sap_port}}, {"ssrc", fmt::format("{:08x}", ssrc_)},
                       {"cname", o_.rtcp ? o_.cname : ""}, {"t", 0.0}});
    else
      fmt::print("listening on [{}] ports {}/{} (SAP {}){}; RTCP as {:08x} ({})\n", media::sdp_address(o_.group), o_.port,
                 o_.port + 1, o_.sap_port, o_.interface.empty() ? "" : " on " + o_.interface, ssrc_,
                 o_.rtcp ? o_.cname : "not sending");
    std::fflush(stdout);
    while (!g_stop) {
      auto now = Clock::now();
      if (o_.duration && now - started_ >= std::chrono::duration<double>(*o_.duration)) break;
      if (now >= next_print) {
        print_stats(now);
        next_print += interval();
      }
      if (o_.rtcp && next_rr_ && now >= *next_rr_) send_report(false);
      pollfd fds[3] = {{rtp_.get(), POLLIN, 0}, {rtcp_.get(), POLLIN, 0}, {sap_.get(), POLLIN, 0}};
      int r = ::poll(fds, 3, 50);
      if (r < 0 && errno != EINTR) throw CliError(std::string("poll: ") + std::strerror(errno));
      if (r <= 0) continue;
      if (fds[0].revents & POLLIN) drain(rtp_.get(), [this](auto p, auto& from) { on_rtp(p, from); });
      if (fds[1].revents & POLLIN) drain(rtcp_.get(), [this](auto p, auto& from) { on_rtcp(p, from); });
      if (fds[2].revents & POLLIN) drain(sap_.get(), [this](auto p, auto& from) { on_sap(p, from); });
    }
    if (o_.rtcp && sender_) send_report(true);
    print_summary();
    return (rtp_packets_ > 0 || sap_packets_ > 0) ? 0 : 1;
  }

 private:
  std::chrono::steady_clock::duration interval() const {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.interval));
  }

  template <class F>
  void drain(int fd, F handle) {
    for (int i = 0; i < 64; ++i) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fd, buffer_, sizeof buffer_, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      handle(std::span<const std::byte>(reinterpret_cast<const std::byte*>(buffer_), static_cast<std::size_t>(n)), from);
    }
  }

  void on_rtp(std::span<const std::byte> p, const sockaddr_storage& from) {
    auto u = [&](std::size_t i) { return std::to_integer<unsigned>(p[i]); };
    if (p.size() < 12 || (u(0) >> 6) != 2) {
      ++rtp_malformed_;
      return;
    }
    ++rtp_packets_;
    std::uint32_t ssrc = u(8) << 24 | u(9) << 16 | u(10) << 8 | u(11);
    auto seq = static_cast<std::uint16_t>(u(2) << 8 | u(3));
    std::uint32_t ts = u(4) << 24 | u(5) << 16 | u(6) << 8 | u(7);
    int pt = static_cast<int>(u(1) & 0x7f);
    if (!sender_ || sender_->ssrc != ssrc) {
      // A new stream (or a restarted sender): start counting afresh.
      sender_ = SenderState{};
      sender_->ssrc = ssrc;
      sender_->base_seq = seq;
      sender_->max_seq = seq;
      sender_address_ = sender_address(from);
      if (o_.rtcp && !next_rr_) next_rr_ = Clock::now() + 1s;  // a first report soon, then every ~5 s
    } else {
      auto delta = static_cast<std::uint16_t>(seq - sender_->max_seq);
      if (delta > 0 && delta < 0x8000) {
        if (seq < sender_->max_seq) sender_->cycles += 65536;  // §A.1: wrapped
        sender_->max_seq = seq;
      }
    }
    auto& s = *sender_;
    s.payload_type = pt;
    ++s.packets;
    s.bytes += p.size() - 12;
    s.interval_bytes += p.size() - 12;
    if (auto rate = clock_rate_from_sdp(sdp_, pt)) {
      // §A.8: interarrival jitter in timestamp units.
      double arrival = std::chrono::duration<double>(Clock::now() - started_).count() * *rate;
      double transit = arrival - ts;
      if (s.last_transit) {
        double d = std::fabs(transit - *s.last_transit);
        // A transit jump of more than a second is a sender restart, not jitter.
        if (d < *rate) s.jitter += (d - s.jitter) / 16.0;
      }
      s.last_transit = transit;
      clock_rate_ = *rate;
    }
  }

  void on_rtcp(std::span<const std::byte> p, const sockaddr_storage& from) {
    ++rtcp_packets_;
    auto parsed = media::parse_rtcp(p);
    if (!parsed) {
      ++rtcp_malformed_;
      return;
    }
    for (const auto& r : parsed.value().reports) {
      if (r.ssrc == ssrc_) continue;  // our own report, looped back
      if (r.sender) {
        if (sender_ && r.ssrc == sender_->ssrc) {
          sender_->last_sr = media::ntp_middle(r.sender->ntp);
          sender_->last_sr_at = Clock::now();
          ++sender_->sender_reports;
        }
      } else {
        other_receivers_.insert(r.ssrc);
      }
    }
    for (const auto& b : parsed.value().byes) {
      for (auto ssrc : b.ssrcs) {
        if (ssrc == ssrc_) continue;
        if (sender_ && ssrc == sender_->ssrc) {
          ++sender_byes_;
          event({{"event", "bye"}, {"ssrc", fmt::format("{:08x}", ssrc)}, {"reason", b.reason}},
                fmt::format("BYE from the sender {:08x}{}", ssrc, b.reason.empty() ? "" : ": " + b.reason));
        }
        other_receivers_.erase(ssrc);
      }
    }
    (void)from;
  }

  void on_sap(std::span<const std::byte> p, const sockaddr_storage& from) {
    ++sap_packets_;
    auto m = media::decode_sap(p);
    if (!m) {
      ++sap_malformed_;
      return;
    }
    auto& msg = m.value();
    std::string origin = media::sdp_address(msg.origin);
    if (msg.deletion) {
      ++sap_deletions_;
      if (msg.msg_id_hash == sap_hash_) sdp_.clear();
      event({{"event", "sap"}, {"deletion", true}, {"hash", msg.msg_id_hash}, {"origin", origin},
             {"from", sender_address(from)}, {"payload", msg.payload}},
            fmt::format("SAP deletion of {:04x} from {}", msg.msg_id_hash, origin));
      return;
    }
    ++sap_announcements_;
    if (msg.msg_id_hash == sap_hash_ && msg.payload == sdp_) return;
    sap_hash_ = msg.msg_id_hash;
    sdp_ = msg.payload;
    event({{"event", "sap"}, {"deletion", false}, {"hash", msg.msg_id_hash}, {"origin", origin},
           {"from", sender_address(from)}, {"payload_type", msg.payload_type}, {"sdp", msg.payload}},
          fmt::format("SAP announcement {:04x} from {}:\n{}", msg.msg_id_hash, origin, msg.payload));
  }

  void send_report(bool bye) {
    std::vector<media::ReportBlock> blocks;
    if (sender_) {
      auto& s = *sender_;
      media::ReportBlock b;
      b.ssrc = s.ssrc;
      // §A.3: loss since the last report, and in all.
      std::uint64_t expected = s.expected();
      std::int64_t expected_interval = static_cast<std::int64_t>(expected - s.expected_prior);
      std::int64_t received_interval = static_cast<std::int64_t>(s.packets - s.received_prior);
      s.expected_prior = expected;
      s.received_prior = s.packets;
      std::int64_t lost_interval = expected_interval - received_interval;
      b.fraction_lost = expected_interval > 0 && lost_interval > 0
                            ? static_cast<std::uint8_t>(std::min<std::int64_t>(255, (lost_interval << 8) / expected_interval))
                            : 0;
      b.cumulative_lost = static_cast<std::int32_t>(std::clamp<std::int64_t>(s.lost(), -0x800000, 0x7fffff));
      b.highest_seq = static_cast<std::uint32_t>(s.extended_max());
      b.jitter = static_cast<std::uint32_t>(s.jitter);
      if (s.last_sr) {
        b.last_sr = *s.last_sr;
        auto since = std::chrono::duration<double>(Clock::now() - s.last_sr_at).count();
        b.delay_since_sr = static_cast<std::uint32_t>(since * 65536.0);
      }
      blocks.push_back(b);
    }
    auto packet = media::build_receiver_report(ssrc_, blocks);
    auto sdes = media::build_sdes(ssrc_, o_.cname, "joincast listen");
    packet.insert(packet.end(), sdes.begin(), sdes.end());
    if (bye) {
      std::uint32_t ssrcs[] = {ssrc_};
      auto b = media::build_bye(ssrcs, "listener left");
      packet.insert(packet.end(), b.begin(), b.end());
    }
    if (::sendto(send_.get(), packet.data(), packet.size(), 0, rtcp_to_.get(), rtcp_to_.length) < 0) {
      ++rtcp_send_errors_;
    } else {
      ++rr_sent_;
    }
    // §6.3.5: every 5 s (the minimum), randomised 0.5..1.5.
    std::uniform_real_distribution<double> factor(0.5, 1.5);
    next_rr_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(5.0 * factor(rng_)));
  }

  nlohmann::json stats_json() const {
    nlohmann::json rtp = nullptr;
    if (sender_) {
      const auto& s = *sender_;
      rtp = {{"ssrc", fmt::format("{:08x}", s.ssrc)},
             {"from", sender_address_},
             {"payload_type", s.payload_type},
             {"packets", s.packets},
             {"bytes", s.bytes},
             {"expected", s.expected()},
             {"lost", s.lost()},
             {"jitter_ms", clock_rate_ ? 1000.0 * s.jitter / clock_rate_ : 0.0},
             {"sender_reports", s.sender_reports}};
    }
    return {{"rtp", rtp},
            {"rtp_packets", rtp_packets_},
            {"rtp_malformed", rtp_malformed_},
            {"rtcp", {{"received", rtcp_packets_}, {"malformed", rtcp_malformed_}, {"rr_sent", rr_sent_},
                      {"send_errors", rtcp_send_errors_}, {"other_receivers", other_receivers_.size()},
                      {"sender_byes", sender_byes_}}},
            {"sap", {{"packets", sap_packets_}, {"announcements", sap_announcements_}, {"deletions", sap_deletions_},
                     {"malformed", sap_malformed_}, {"hash", sap_hash_}}},
            {"ssrc", fmt::format("{:08x}", ssrc_)},
            {"cname", o_.cname}};
  }

  void print_stats(Clock::time_point now) {
    double t = std::chrono::duration<double>(now - started_).count();
    if (json_) {
      auto j = stats_json();
      j["event"] = "stats";
      j["t"] = t;
      print_json_line(j);
    } else {
      if (!header_printed_) {
        fmt::print("{:>7} {:>8} {:>8} {:>6} {:>10} {:>8} {:>4} {:>4} {:>4}\n", "time", "ssrc", "packets", "lost",
                   "jitter ms", "kbit/s", "SR", "RR", "SAP");
        header_printed_ = true;
      }
      if (sender_) {
        const auto& s = *sender_;
        fmt::print("{:>6.1f}s {:08x} {:>8} {:>6} {:>10.2f} {:>8.1f} {:>4} {:>4} {:>4}\n", t, s.ssrc, s.packets, s.lost(),
                   clock_rate_ ? 1000.0 * s.jitter / clock_rate_ : 0.0, static_cast<double>(s.interval_bytes) * 8 / 1000.0 / o_.interval,
                   s.sender_reports, rr_sent_, sap_announcements_);
      } else {
        fmt::print("{:>6.1f}s {:>8} {:>8} {:>6} {:>10} {:>8} {:>4} {:>4} {:>4}\n", t, "-", 0, 0, "-", "-", 0, rr_sent_,
                   sap_announcements_);
      }
    }
    if (sender_) sender_->interval_bytes = 0;
    std::fflush(stdout);
  }

  void print_summary() {
    if (json_) {
      auto j = stats_json();
      j["event"] = "summary";
      j["t"] = std::chrono::duration<double>(Clock::now() - started_).count();
      j["sdp"] = sdp_;
      print_json_line(j);
    } else {
      fmt::print("{} RTP packets ({} lost), {} SAP announcements, {} deletions, {} receiver reports sent{}\n",
                 sender_ ? sender_->packets : 0, sender_ ? sender_->lost() : 0, sap_announcements_, sap_deletions_, rr_sent_,
                 (o_.rtcp && sender_) ? " and a BYE" : "");
      if (rtp_packets_ == 0 && sap_packets_ == 0)
        fmt::print(stderr, "joincast listen: nothing received on [{}]{}\n", media::sdp_address(o_.group),
                   o_.interface.empty() ? " (no --interface given: the kernel chose one)" : " on " + o_.interface);
    }
    std::fflush(stdout);
  }

  void event(nlohmann::json j, const std::string& text) {
    if (json_) {
      j["t"] = std::chrono::duration<double>(Clock::now() - started_).count();
      print_json_line(j);
    } else {
      fmt::print("{}\n", text);
    }
    std::fflush(stdout);
  }

  static void print_json_line(const nlohmann::json& j) {
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  Options o_;
  bool json_;
  std::mt19937_64 rng_;
  std::uint32_t ssrc_ = 0;
  media::UniqueFd rtp_, rtcp_, sap_, send_;
  media::SocketAddress rtcp_to_;
  Clock::time_point started_{};
  std::optional<Clock::time_point> next_rr_;
  std::optional<SenderState> sender_;
  std::string sender_address_;
  unsigned clock_rate_ = 0;
  std::string sdp_;
  std::uint16_t sap_hash_ = 0;
  std::set<std::uint32_t> other_receivers_;
  std::uint64_t rtp_packets_ = 0, rtp_malformed_ = 0, rtcp_packets_ = 0, rtcp_malformed_ = 0, rtcp_send_errors_ = 0;
  std::uint64_t sap_packets_ = 0, sap_malformed_ = 0, sap_announcements_ = 0, sap_deletions_ = 0, rr_sent_ = 0;
  std::uint64_t sender_byes_ = 0;
  bool header_printed_ = false;
  char buffer_[65536];
};

int run(Context& ctx) {
  Options o = parse(ctx);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  Listener listener(std::move(o), ctx.json);
  return listener.run();
}

}  // namespace

const Command listen_command{
    "listen", "join a group and show its SAP/SDP, RTP and RTCP, sending receiver reports",
    R"(Usage: joincast listen GROUP [--interface IF] [--duration SECONDS] [--interval SECONDS]
                       [--port PORT] [--sap-port PORT] [--cname NAME] [--hops N]
                       [--no-rtcp] [--json]

Joins GROUP (an IPv6 or IPv4 multicast address) the way a player does and
shows what arrives there:

  SAP     announcements and deletions on port 9875 of the group (RFC 2974),
          with the SDP they carry, printed when first heard or changed;
  RTP     the stream on port 5004: sender SSRC, packets, loss from sequence
          numbers, interarrival jitter (RFC 3550 A.8, using the clock rate of
          the SDP's rtpmap), bit rate;
  RTCP    sender reports and other listeners' reports on port 5005.

Unless --no-rtcp is given it also acts as a listener towards the sender: a
receiver report with an SDES CNAME goes to port 5005 of the group about a
second after the first RTP packet and then every 5 s (randomised 0.5-1.5x,
RFC 3550 6.3.5), and a BYE when it stops (Ctrl-C, SIGTERM, --duration).
joincastd counts such listeners per session.

Options:
  -i, --interface IF   join (and send reports) on this interface. Without it
                       the kernel picks one from the routing table, which on
                       a router with several interfaces may be the wrong one.
  --duration SECONDS   stop after this long (default: until interrupted)
  --interval SECONDS   statistics every SECONDS (default 1)
  --port PORT          RTP port (default 5004; RTCP is PORT+1)
  --sap-port PORT      SAP port (default 9875)
  --cname NAME         RTCP CNAME (default joincast-listen-PID@HOST)
  --hops N             hop limit / TTL of the reports (default 16)
  --no-rtcp            listen only; send no reports
  --json               one JSON object per line: "listening" (joined),
                       "sap" (announcement or deletion, with the SDP),
                       "bye" (the sender left), "stats" every interval,
                       "summary" at the end

Exits 0 if anything (RTP or SAP) arrived, 1 otherwise.

Example:
  joincast listen ff3e:40:2001:db8:d0be:f00d:8000:0 -i br0 --duration 30)",
    run};

}  // namespace joincast::tools
