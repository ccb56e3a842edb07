// udp_source.cpp — UDP/RTP input.
#include "media/source/udp_source.hpp"

#include "media/engine/multicast_socket.hpp"
#include "media/announce/sdp.hpp"

#include <boost/asio/ip/udp.hpp>

#include <fmt/format.h>
#include <vector>

namespace joincast::media {

struct UdpSource::State {
  UdpSourceOptions options;
  boost::asio::ip::udp::socket socket;
  std::vector<std::byte> buffer = std::vector<std::byte>(65536);
  ByteSink* sink = nullptr;
  bool receiving = false;
  bool stopped = false;
  std::optional<bool> rtp;       // decided on the first datagram when automatic
  std::optional<int> payload_type;
  std::optional<std::uint16_t> last_seq;
  std::string detected_type;
  Counters counters;
  explicit State(boost::asio::any_io_executor ex) : socket(std::move(ex)) {}
};

Result<std::unique_ptr<UdpSource>> UdpSource::open(boost::asio::any_io_executor executor, UdpSourceOptions options) {
  ReceiverSocketOptions r;
  r.group = options.address;
  r.port = options.port;
  r.source = options.source;
  if (options.address.is_multicast()) {
    auto index = interface_index(options.interface);
    if (!index) {
      return Error(index.error(), fmt::format("no network interface named \"{}\" to join {} on", options.interface,
                                              sdp_address(options.address)));
    }
    r.ifindex = index.value();
  }
  auto fd = open_receiver_socket(r);
  if (!fd) {
    return Error(fd.error(), fmt::format("cannot receive on [{}]:{}: {}", sdp_address(options.address), options.port,
                                         fd.error().message()));
  }
  auto state = std::make_shared<State>(std::move(executor));
  boost::system::error_code ec;
  state->socket.assign(options.address.is_v6() ? boost::asio::ip::udp::v6() : boost::asio::ip::udp::v4(), fd.value().release(),
                       ec);
  if (ec) return std::error_code(ec.value(), std::generic_category());
  state->options = std::move(options);
  return std::unique_ptr<UdpSource>(new UdpSource(std::move(state)));
}

UdpSource::~UdpSource() {
  stop();
  boost::system::error_code ignored;
  state_->socket.close(ignored);
}

std::string UdpSource::describe() const {
  return fmt::format("udp://[{}]:{}", sdp_address(state_->options.address), state_->options.port);
}

std::string UdpSource::content_type() const {
  if (!state_->options.content_type.empty()) return state_->options.content_type;
  return state_->detected_type;
}

UdpSource::Counters UdpSource::counters() const { return state_->counters; }

void UdpSource::start(ByteSink& sink) {
  state_->sink = &sink;
  state_->receiving = true;
  receive(state_);
}

void UdpSource::resume() {
  if (state_->stopped || state_->receiving || !state_->sink) return;
  state_->receiving = true;
  receive(state_);
}

void UdpSource::stop() {
  state_->stopped = true;
  state_->sink = nullptr;
  boost::system::error_code ignored;
  state_->socket.cancel(ignored);
}

namespace {

// RFC 3550 §5.1 fixed header, CSRCs, §5.3.1 extension, padding. Returns
// the payload, or an empty span if the packet is not well-formed.
std::span<const std::byte> rtp_payload(std::span<const std::byte> p, int& pt, std::uint16_t& seq) {
  if (p.size() < 12) return {};
  auto u = [&](std::size_t i) { return std::to_integer<unsigned>(p[i]); };
  if ((u(0) >> 6) != 2) return {};
  std::size_t header = 12 + 4 * (u(0) & 0x0f);
  bool extension = u(0) & 0x10;
  bool padding = u(0) & 0x20;
  pt = static_cast<int>(u(1) & 0x7f);
  seq = static_cast<std::uint16_t>(u(2) << 8 | u(3));
  if (extension) {
    if (p.size() < header + 4) return {};
    header += 4 + 4 * (u(header + 2) << 8 | u(header + 3));
  }
  std::size_t end = p.size();
  if (padding) {
    std::size_t pad = u(end - 1);
    if (pad == 0 || pad > end - header) return {};
    end -= pad;
  }
  if (header > end) return {};
  return p.subspan(header, end - header);
}

}  // namespace

void UdpSource::receive(const std::shared_ptr<State>& s) {
  s->socket.async_receive(boost::asio::buffer(s->buffer), [s](const boost::system::error_code& ec, std::size_t n) {
    if (s->stopped || !s->sink) {
      s->receiving = false;
      return;
    }
    if (ec) {
      s->receiving = false;
      if (ec == boost::asio::error::operation_aborted) return;
      ByteSink* sink = s->sink;
      s->sink = nullptr;
      sink->on_end(std::error_code(ec.value(), std::generic_category()));
      return;
    }
    ++s->counters.datagrams;
    std::span<const std::byte> data(s->buffer.data(), n);
    using Payload = UdpSourceOptions::Payload;
    if (!s->rtp) {
      // Decide once: RTP (version 2, a payload type we can carry) or raw.
      bool looks_rtp = n >= 12 && (std::to_integer<unsigned>(data[0]) >> 6) == 2;
      unsigned pt = n >= 2 ? std::to_integer<unsigned>(data[1]) & 0x7f : 0;
      bool raw_ts = n > 0 && data[0] == std::byte{0x47};
      s->rtp = s->options.payload == Payload::rtp ||
               (s->options.payload == Payload::automatic && !raw_ts && looks_rtp && (pt == 14 || pt == 33 || pt >= 96));
      if (!*s->rtp) s->detected_type = raw_ts ? "video/mp2t" : "";
      else s->detected_type = pt == 33 ? "video/mp2t" : pt == 14 ? "audio/mpeg" : "";
    }
    std::span<const std::byte> payload = data;
    if (*s->rtp) {
      int pt = 0;
      std::uint16_t seq = 0;
      payload = rtp_payload(data, pt, seq);
      if (payload.empty()) {
        ++s->counters.malformed;
        receive(s);
        return;
      }
      if (s->last_seq) {
        auto step = static_cast<std::int16_t>(seq - *s->last_seq);
        if (step <= 0) {  // late or duplicate: the byte stream is already past it
          ++s->counters.rtp_dropped;
          receive(s);
          return;
        }
        s->counters.rtp_lost += static_cast<std::uint64_t>(step - 1);
      }
      s->last_seq = seq;
      if (pt == 14) {  // RFC 2250 §3.5: MBZ and fragment offset
        if (payload.size() <= 4) {
          ++s->counters.malformed;
          receive(s);
          return;
        }
        payload = payload.subspan(4);
      }
    }
    Flow flow = payload.empty() ? Flow::more : s->sink->on_data(payload);
    if (flow == Flow::pause || s->stopped || !s->sink) {
      s->receiving = false;
      return;
    }
    receive(s);
  });
}

}  // namespace joincast::media
