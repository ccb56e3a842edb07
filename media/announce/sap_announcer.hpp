// sap_announcer.hpp — one stream's SAP announcement schedule (RFC 2974):
// when its SDP is announced, re-announced and deleted. The session that owns
// it writes the SDP and sends the packets; the announcer decides when.
//
//   * periodically on the stream's own group, the configured interval ± a
//     third, and on the well-known SAP group of its scope at the RFC 2974
//     §3.1 interval (shared 4000 bit/s, with a floor);
//   * at once for a new listener (at most every 100 ms in a burst), that
//     announcement repeated 250 ms, 500 ms and 1 s after it;
//   * a changed description (at most once a second) is a new announcement
//     with a new message id hash, after a deletion of the old one;
//   * a deletion when the stream stops.
//
// Times are passed in, so the schedule runs on any clock (tests use a fake
// one). Not thread-safe: the owner's thread only.
#pragma once

#include <atomic>
#include "media/announce/sap_bandwidth.hpp"

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace joincast::media {

struct SapOptions {
  // Announcements on the stream's own group, ± a third at random.
  std::chrono::milliseconds interval{5000};
  // Also announce on the well-known SAP group of the group's scope
  // (ff0X::2:7ffe, 224.2.127.254, ...), for clients such as VLC that
  // listen only there. The interval there follows RFC 2974 §3.1 with this
  // floor (the RFC's is 300 s).
  bool well_known_group = false;
  std::chrono::milliseconds well_known_min_interval{300000};
  // Every announcement to the well-known group takes its slot here (set
  // by the engine; none: sent when due).
  std::shared_ptr<SapBandwidth> well_known_bandwidth;
};

class SapAnnouncer {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Destination { own_group, well_known };
  struct Packet {
    std::vector<std::byte> bytes;  // an encoded SAP message
    Destination to = Destination::own_group;
    bool deletion = false;  // leaves after every packet submitted before it
  };
  struct Hooks {
    // The SDP as it is now, with this o= version.
    std::function<std::string(std::uint64_t version)> describe;
    std::function<void(Packet)> send;
    // A new SDP and hash are announced (for statistics).
    std::function<void(const std::string& sdp, std::uint16_t hash)> published;
  };

  // session_id salts the message id hash; first_version is the SDP's first
  // o= version. well_known_ads counts the announcers on the well-known
  // groups, engine-wide (their shared bandwidth sets the interval there).
  SapAnnouncer(SapOptions options, boost::asio::ip::address origin, std::uint64_t session_id,
               std::uint64_t first_version, std::atomic<std::size_t>& well_known_ads, std::uint64_t seed,
               Hooks hooks);

  // The stream was announced before (by an earlier run of this process)
  // with this o= version and text: if its first SDP reads the same, it is
  // announced under that version, hence the same message id hash; else
  // under a version after it.
  void resume(std::uint64_t version, std::string sdp) { previous_.emplace(version, std::move(sdp)); }
  // What the SDP says changed (metadata, codec): announced anew within a
  // second, once the text differs.
  void description_changed() { dirty_ = true; }
  // A listener joined: announce now, or as soon as the burst limit allows.
  // True when a packet went out now.
  bool listener_appeared(Clock::time_point now);
  // A host joined the well-known SAP group of the stream's scope: announce
  // there as soon as its bandwidth allows (even without
  // options.well_known_group), once per join — a join while one is
  // waiting adds nothing.
  void well_known_joined(Clock::time_point now);
  // The well-known group the stream's scope has (its SapBandwidth key).
  void set_well_known_group(boost::asio::ip::address group) { well_known_group_ = group; }
  // Runs what is due at now. The first call announces the first SDP (the
  // one the listener whose join started the stream waits for).
  void on_timer(Clock::time_point now);
  // The earliest time on_timer() has something to do.
  std::optional<Clock::time_point> next_event() const;
  // Deletes the announcement (unless keep_announcement: the sender
  // restarts and will announce it again) and stops the schedule.
  void stop(bool keep_announcement = false);
  std::uint64_t version() const { return version_; }

  const std::string& sdp() const { return sdp_; }
  std::uint16_t hash() const { return hash_; }
  std::uint64_t session_id() const { return session_id_; }

 private:
  void announce(bool own_group, bool well_known, Clock::time_point now);
  // Takes the next slot on the well-known group (SapBandwidth) for an
  // announcement; the announcement leaves in on_timer() at that slot.
  void request_well_known(Clock::time_point now);
  std::size_t announcement_size() const;
  void announce_for_listener(Clock::time_point now);
  void delete_announcement();
  void publish(Clock::time_point now);
  std::uint64_t random();  // splitmix64: small state, good enough for timer jitter

  SapOptions options_;
  boost::asio::ip::address origin_;
  std::uint64_t session_id_;
  std::uint64_t version_;
  std::atomic<std::size_t>& well_known_ads_;
  std::uint64_t rng_state_;
  Hooks hooks_;

  std::optional<std::pair<std::uint64_t, std::string>> previous_;  // resume()
  std::string sdp_;  // announced now; empty before the first announcement
  std::uint16_t hash_ = 0;
  bool dirty_ = false;
  bool announced_ = false;
  bool stopped_ = false;
  Clock::time_point last_change_{};
  Clock::time_point last_own_announce_{};
  std::optional<Clock::time_point> next_own_;
  std::optional<Clock::time_point> next_well_known_;  // the next periodic one
  std::optional<Clock::time_point> well_known_slot_;  // an announcement there waits for its slot
  bool announced_well_known_ = false;  // a deletion must go there too
  boost::asio::ip::address well_known_group_;
  std::optional<Clock::time_point> listener_;
  std::optional<Clock::time_point> follow_up_;  // repeats of a listener's announcement
  unsigned follow_ups_sent_ = 0;
};

}  // namespace joincast::media
