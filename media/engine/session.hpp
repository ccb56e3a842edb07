// session.hpp — one stream on one group: source bytes in, RTP, RTCP and
// SAP out, listeners' RTCP in.
//
//   ByteSource ──on_data──▶ input buffer ──(fiber)──▶ Demuxer / TsFramer
//        ▲ pause/resume                                     │
//        └────────── flow control ─────────                 ▼
//   UdpSender ◀── due packets ◀── paced queue ◀── RtpPacketizer (RTP + SR)
//        ▲                                                   │ codec known
//        └── SAP announcements (SDP written here) ◀──────────┘
//   RTCP socket :5005 ──▶ ReceiverTable
//
// Everything runs on its worker's thread. The demuxer runs on a fiber that
// yields when the input buffer is empty or when enough packets are queued
// ahead of the clock; the worker resumes it when bytes arrive or the queue
// drains. Only stats() is called from other threads.
#pragma once

#include "media/announce/sap.hpp"
#include "media/announce/sap_announcer.hpp"
#include "media/engine/stream_continuity.hpp"
#include "media/byte_source.hpp"
#include "media/engine/demuxer.hpp"
#include "media/engine/fiber.hpp"
#include "media/rtp/pacing.hpp"
#include "media/rtcp/receiver_table.hpp"
#include "media/rtp/rtp_mapping.hpp"
#include "media/rtp/rtp_packetizer.hpp"
#include "media/engine/session_types.hpp"
#include "media/rtp/ts_framer.hpp"
#include "media/engine/udp_sender.hpp"

#include <boost/asio/ip/udp.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace joincast::media {

class Worker;

// What MediaEngine resolved before handing the session to its worker.
struct SessionSetup {
  SessionId id = 0;
  SessionConfig config;
  unsigned ifindex = 0;
  boost::asio::ip::address source_address;
  unsigned packet_size = 1452;      // RTP packet size from the interface MTU
  std::shared_ptr<UniqueFd> send_socket;
  UniqueFd rtcp_socket;             // joined to group:rtcp_port on the interface
  std::chrono::milliseconds lead{400};
  std::chrono::milliseconds max_lateness{200};
  std::chrono::milliseconds live_slack{500};
};

class Session final : public ByteSink, public std::enable_shared_from_this<Session> {
 public:
  using Clock = std::chrono::steady_clock;

  Session(Worker& worker, SessionSetup setup, std::unique_ptr<ByteSource> source);
  ~Session() override;

  SessionId id() const { return setup_.id; }

  // Worker thread.
  void start();
  // No further RTP; with StopMode::end a BYE and a SAP deletion.
  void stop(StopMode mode = StopMode::end);
  void listener_appeared();          // announce now
  void well_known_joined();          // announce on the well-known SAP group, within its bandwidth
  // The well-known SAP group of the stream's scope.
  boost::asio::ip::address well_known_group() const { return sap_well_known_group(setup_.config.group); }
  void update_metadata(const StreamMetadata& metadata);
  // The earliest time on_timer() has something to do.
  std::optional<Clock::time_point> next_event() const;
  // Sends packets due within window of now, refills the queue, runs SAP
  // and receiver timers.
  void on_timer(Clock::time_point now, Clock::duration window);
  // A send result for one of this session's packets.
  void on_send_complete(const OutgoingPacket& packet, int result);
  // Pumps the pipeline if it waits for something that is now there.
  void pump();
  bool finished() const { return state_ == SessionState::stopped; }

  // Any thread.
  SessionStats stats() const;
  void note_ffmpeg_message(std::string message);
  // The session whose pipeline runs on this thread right now (FFmpeg's log
  // callback attributes messages with it), or nullptr.
  static Session* active();

  // ByteSink, worker thread.
  Flow on_data(std::span<const std::byte> bytes) override;
  void on_metadata(const StreamMetadata& metadata) override;
  void on_end(std::error_code why) override;

 private:
  enum class Waiting { nothing, input, room };

  // Fiber side.
  void pipeline();
  void demux_pipeline(const std::string& content_type);
  void ts_pipeline();
  int read_input(std::uint8_t* buf, int size);
  bool wait_for_input(std::size_t at_least);
  std::size_t high_water() const;
  // A live source's frame that LiveEdge says to drop (counted in stats).
  // position: where the timeline expects it (MediaTimeline::next()).
  bool drop_for_live_edge(const AVPacket& packet, AVRational time_base, std::int64_t position);
  void wait_for_room();
  bool open_packetizer(const AVCodecParameters& par, AVRational time_base);
  void on_muxed(std::span<std::byte> datagram);
  void pipeline_failed(std::error_code ec, std::string message);
  // A failure whose Error carries the message, if it has one.
  void pipeline_failed(const Error& e) { pipeline_failed(e.code(), e.has_message() ? e.message() : std::string()); }

  // Worker side.
  void resume_fiber();
  void after_pipeline();
  void send_due(Clock::time_point now, Clock::duration window);
  Clock::time_point refill_time() const;
  void send_packet(std::unique_ptr<OutgoingPacket> packet);
  void queue_control(PacketKind kind, std::vector<std::byte> data, const SocketAddress& to, bool drain = false);
  std::vector<std::byte> sender_report_compound(bool bye) const;
  void receive_rtcp();

  // SAP and SDP.
  StreamMetadata effective_metadata() const;
  std::string build_sdp(std::uint64_t version) const;
  void sdp_inputs_changed();
  void send_sap(SapAnnouncer::Packet packet);
  void finish(SessionState final_state);
  // Continuity (stream_continuity.hpp): RTP header rewriting and the file.
  void restamp(std::span<std::byte> datagram, Clock::time_point due);
  void save_continuity(std::uint16_t next_seq);
  void emit(SessionEvent::Kind kind, std::error_code ec = {}, std::string message = {});
  void stop_source();
  // Why the source failed: its own sentence, else the error code's.
  std::string source_failure_text() const;

  Worker& worker_;
  SessionSetup setup_;
  std::unique_ptr<ByteSource> source_;
  Clock::time_point created_;

  // Destinations.
  SocketAddress rtp_to_, rtcp_to_, sap_to_, sap_well_known_to_;

  // Input.
  std::vector<std::byte> input_;
  std::size_t input_head_ = 0;
  bool source_paused_ = false;
  bool pump_posted_ = false;
  bool source_ended_ = false;
  bool source_stopped_ = false;
  std::error_code source_error_;
  std::string content_type_;

  // Pipeline (on the fiber).
  std::unique_ptr<Fiber> fiber_;
  Waiting waiting_ = Waiting::nothing;
  bool cancel_ = false;
  bool trimmed_ = false;
  bool opened_ = false;
  bool pipeline_done_ = false;
  std::error_code pipeline_error_;
  std::string pipeline_message_;
  std::unique_ptr<Demuxer> demuxer_;
  std::unique_ptr<RtpPacketizer> packetizer_;
  std::optional<RtpMapping> mapping_;
  std::uint32_t ssrc_ = 0;
  unsigned rtp_streams_ = 0;        // packetizers opened: a codec change is a new RTP stream
  std::optional<std::string> container_title_;

  // Pacing and output.
  std::optional<PacingClock> pacing_;
  std::optional<LiveEdge> live_edge_;  // a live source's, once it is demuxed
  std::uint64_t input_total_ = 0;     // bytes ever appended to input_
  // For LiveEdge's "when would this frame leave": the timeline position of
  // the first frame written to this packetizer, and the due time and ticks
  // (from that frame) of the last RTP packet queued.
  std::optional<std::int64_t> first_written_;
  std::optional<Clock::time_point> last_rtp_due_;
  std::int64_t last_rtp_ticks_ = 0;
  RtpTimestampUnwrap unwrap_;
  // Our own sequence numbers and timestamp base (the muxer's are random).
  std::uint16_t next_seq_ = 0;
  std::uint16_t seq_reserved_ = 0;  // kept in the file: no packet reaches it
  bool seq_reserved_valid_ = false;
  std::optional<std::uint32_t> ts_offset_;  // added to the muxer's timestamps, per RTP stream
  StopMode stop_mode_ = StopMode::end;
  Clock::time_point anchor_hint_{};  // a new RTP stream starts no earlier than this
  std::deque<std::unique_ptr<OutgoingPacket>> queue_;
  // Written on the worker only, read by stats() anywhere.
  std::atomic<std::uint64_t> sent_rtp_packets_{0};
  std::atomic<std::uint64_t> sent_rtp_octets_{0};
  std::atomic<std::int64_t> last_sent_ticks_{0};

  // SAP: the announcer decides when, the session writes and sends.
  std::uint64_t random();       // splitmix64: small state, good enough for ids and seeds
  std::uint64_t rng_state_ = 0;
  std::optional<SapAnnouncer> sap_;

  // Metadata layers (see SessionConfig::metadata).
  StreamMetadata api_metadata_;
  StreamMetadata source_metadata_;

  // RTCP in.
  std::unique_ptr<boost::asio::ip::udp::socket> rtcp_socket_;

  ReceiverTable receivers_;
  Clock::time_point next_expiry_{};

  SessionState state_ = SessionState::starting;

  // Shared with stats() callers.
  mutable std::mutex mutex_;
  SessionStats stats_;
};

}  // namespace joincast::media
