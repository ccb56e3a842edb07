// session_types.hpp — what a media session is asked to do and what it
// reports: configuration, statistics and events. These are the values the
// daemon exchanges with MediaEngine (media_engine.hpp).
#pragma once

#include "media/announce/sap_announcer.hpp"
#include "media/byte_source.hpp"
#include "media/rtp/rtp_mapping.hpp"
#include "media/rtcp/receiver_table.hpp"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace joincast::media {

using SessionId = std::uint64_t;

struct SessionConfig {
  boost::asio::ip::address group;   // RTP, RTCP and SAP go to this group
  std::string interface;            // egress interface (required)
  // The sending address; also the SDP origin and the SAP originating
  // source. Default: the interface's first global address of the group's
  // family.
  std::optional<boost::asio::ip::address> source_address;
  unsigned hop_limit = 16;          // IPv6 hop limit / IPv4 TTL (also the c= TTL)
  // Also deliver the stream to listeners on the sending host itself. Off by
  // default: for every looped packet the kernel searches the interface's
  // list of joined groups, which grows with the number of sessions (each
  // joins its group for RTCP).
  bool multicast_loop = false;
  std::uint16_t rtp_port = 5004;    // RTCP is rtp_port + 1 (RFC 3550 §11)
  std::uint16_t sap_port = 9875;
  // Initial metadata. Non-empty fields here (and in update_metadata())
  // take precedence over what the source reports (ICY, container tags).
  StreamMetadata metadata;
  // Used for a field neither the metadata above nor the source gives: a
  // directory's name for its station, shown until (unless) the station
  // names itself by icy-name.
  StreamMetadata fallback_metadata;
  SapOptions sap;
  // A receiver not heard from for this long is dropped (RFC 3550 §6.3.5).
  std::chrono::milliseconds receiver_timeout{30000};
  // How many receivers its table keeps, and the total over all sessions.
  ReceiverLimits receiver_limits;
  std::string cname;                // RTCP CNAME; default "joincast@<source address>"
  // Set by MediaEngine::announce(): the stream is sent by another program
  // (dvblast) with this mapping. The session sends SAP/SDP and collects
  // listeners' RTCP, but no RTP, SR or BYE, and has no source.
  std::optional<RtpMapping> announce_only;
  std::string content_type;         // overrides the source's declared type when set
  // Where the stream keeps what a restart must not change (its RTP
  // sequence numbers, its SDP's o= version; stream_continuity.hpp). Empty:
  // nothing kept, numbers start at random.
  std::string continuity_file;
};

// How a session stops: `end` says goodbye (RTCP BYE, SAP deletion);
// `restart` leaves the stream's announcement standing and sends no BYE,
// for a sender that is about to carry on (the daemon restarting), so that
// players keep their state and see only a gap.
enum class StopMode { end, restart };

enum class SessionState { starting, running, ended, failed, stopped };
const char* to_string(SessionState state);

struct SessionStats {
  SessionId id = 0;
  SessionState state = SessionState::starting;
  std::string error;                // why it failed, for people
  std::string source;               // ByteSource::describe()
  boost::asio::ip::address group;
  boost::asio::ip::address source_address;
  std::string interface;
  std::string codec;                // "mp3", "aac", ... once known
  int payload_type = -1;
  unsigned clock_rate = 0;
  std::uint32_t ssrc = 0;
  std::uint64_t rtp_packets = 0;
  std::uint64_t rtp_octets = 0;     // payload octets, as the SR counts them
  std::uint64_t rtcp_sent = 0;
  std::uint64_t sap_announcements = 0;
  std::uint64_t sap_deletions = 0;
  std::uint64_t send_errors = 0;
  std::string last_send_error;
  std::uint64_t late_rebases = 0;   // the source fell behind and the clock moved on
  std::uint64_t discontinuities = 0;  // timestamp jumps smoothed over
  // A live source (ByteSource::live()): whole frames dropped to stay near
  // its newest data (a connect burst, a clock faster than ours), and the
  // lag of the last frame behind the newest data received.
  std::uint64_t frames_dropped = 0;
  std::optional<double> live_lag_ms;
  std::uint64_t bytes_in = 0;       // from the source
  double media_seconds = 0;         // media time sent
  std::optional<double> first_packet_ms;  // session start to first RTP handed to the kernel
  double uptime_seconds = 0;
  std::string sdp;                  // as announced now (empty before the codec is known)
  std::uint16_t sap_msg_id_hash = 0;
  StreamMetadata metadata;          // effective metadata
  std::vector<ReceiverStats> receivers;
  RtcpCounters rtcp_in;
  std::string last_ffmpeg_message;  // the last warning FFmpeg logged for this session
  std::string continuity_error;     // the last failure to read or write the continuity file
};

struct SessionEvent {
  enum class Kind {
    started,  // the first RTP packet left
    ended,    // the source ended cleanly; SAP deletion and BYE were sent
    failed,   // the source or the pipeline failed; error says why
    stopped,  // stop() completed
  };
  SessionId id = 0;
  Kind kind = Kind::started;
  std::error_code error;
  std::string message;
};
const char* to_string(SessionEvent::Kind kind);

}  // namespace joincast::media
