// stream_continuity.hpp — what a stream keeps across a restart of the
// process that sends it (docs/sessions.md, "Restart continuity"), so that
// players see one RTP stream and one SAP announcement, not a new one:
//
//   * SSRC: derived, not stored — a hash of the group, the RTP port and the
//     sending address (stream_ssrc()), so the same stream always has it;
//   * RTP timestamps: derived — a new RTP stream starts at clock_rate ×
//     the wall-clock time since the Unix epoch (rtp_timestamp_base()), so
//     across a restart the timestamp moves on by the time the stream was
//     off, as a player's clock does;
//   * sequence numbers: they must go on by one per packet, which no clock
//     can give; the file holds a reservation — a number no packet sent so
//     far has reached. A session reserves kSeqReservation numbers ahead and
//     renews the reservation halfway, before it could be passed; after a
//     kill -9 the stream goes on from the reservation (a forward jump of at
//     most kSeqReservation, which players take as loss), after an orderly
//     stop from the next number exactly;
//   * the SDP's o= version and the text it was announced with: when the
//     restarted stream describes itself the same way, it is announced under
//     the same o= and hence the same SAP message id hash.
//
// Files are written atomically (temporary file, fsync, rename, fsync of the
// directory); a missing file is a stream seen for the first time.
#pragma once

#include "common/result.hpp"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace joincast::media {

// Sequence numbers reserved ahead of the last one used. Below the 3000
// packets after which ffmpeg's and GStreamer's receivers stop counting a
// jump as loss and start probation.
inline constexpr std::uint16_t kSeqReservation = 512;

struct ContinuityRecord {
  std::uint16_t next_seq = 0;       // no packet sent so far has this number or a later one (mod 2^16, within 2^15)
  std::uint64_t sdp_version = 0;    // o= version the SDP below went out under; 0: none yet
  std::string sdp;                  // as last announced
};

// The stream's SSRC: never 0, the same for the same inputs.
std::uint32_t stream_ssrc(const boost::asio::ip::address& group, std::uint16_t rtp_port,
                          const boost::asio::ip::address& source);
// The SDP o= session id (RFC 8866 §5.2, numeric, < 2^47), the same for the
// same inputs.
std::uint64_t stream_sdp_session_id(const boost::asio::ip::address& group, std::uint16_t rtp_port,
                                    const boost::asio::ip::address& source);
// clock_rate × (wall time since the Unix epoch), mod 2^32.
std::uint32_t rtp_timestamp_base(unsigned clock_rate, std::chrono::system_clock::time_point wall);

// The file's text and its parser (the parser rejects anything else).
std::string format_continuity(const ContinuityRecord& record);
Result<ContinuityRecord> parse_continuity(std::string_view text);

// Reads path: errc::no_such_file_or_directory when there is none.
Result<ContinuityRecord> load_continuity(const std::string& path);
// Replaces path atomically; creates its directory.
Result<void> save_continuity(const std::string& path, const ContinuityRecord& record);

}  // namespace joincast::media
