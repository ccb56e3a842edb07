// udp_source.hpp — a stream arriving as UDP datagrams: raw MPEG-TS (what
// dvblast and many encoders send), or RTP carrying MP2T (PT 33), MPEG
// audio (PT 14) or a dynamic payload whose bytes are the stream. Multicast
// groups are joined on a named interface (any-source or source-specific);
// a unicast address is simply bound.
//
// RTP is unwrapped here: header, CSRCs, extension and padding are removed
// (RFC 3550 §5.1), the 4-byte MPEG audio header too (RFC 2250 §3.5), late
// and duplicate packets are dropped by sequence number and gaps counted.
// UDP cannot push back: while paused the socket is not read and the
// kernel's buffer absorbs, then drops.
#pragma once

#include "media/byte_source.hpp"
#include "media/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace joincast::media {

struct UdpSourceOptions {
  boost::asio::ip::address address;  // a multicast group to join, or a local address
  std::uint16_t port = 0;
  std::string interface;             // for a group: the interface to join on
  std::optional<boost::asio::ip::address> source;  // SSM: only this sender
  enum class Payload { automatic, raw, rtp } payload = Payload::automatic;
  std::string content_type;          // empty: from the RTP payload type, else sniffed
};

class UdpSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<UdpSource>> open(boost::asio::any_io_executor executor, UdpSourceOptions options);
  ~UdpSource() override;

  void start(ByteSink& sink) override;
  void resume() override;
  void stop() override;
  std::string content_type() const override;
  std::string describe() const override;

  struct Counters {
    std::uint64_t datagrams = 0;
    std::uint64_t rtp_lost = 0;        // sequence gaps
    std::uint64_t rtp_dropped = 0;     // late or duplicate
    std::uint64_t malformed = 0;       // not parseable as the payload they claim
  };
  Counters counters() const;

 private:
  struct State;
  explicit UdpSource(std::shared_ptr<State> state) : state_(std::move(state)) {}
  static void receive(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
};

}  // namespace joincast::media
