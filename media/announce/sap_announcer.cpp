// sap_announcer.cpp — see sap_announcer.hpp.
#include "media/announce/sap_announcer.hpp"

#include "media/announce/sap.hpp"
#include "media/announce/sdp.hpp"

#include <algorithm>

namespace joincast::media {

namespace {

using namespace std::chrono_literals;

// An SDP changes at most this often (RFC 2974 §3: every change is an
// announcement and a deletion); metadata thus reaches it within a second.
constexpr auto kChangeInterval = 1s;
// A burst of new listeners gets announcements at most this often.
constexpr auto kListenerInterval = 100ms;
// The announcement made for a new listener (and a session's first one,
// which a join caused) is repeated 250 ms, 500 ms and 1 s after it. A
// player is often started with its join rather than before it: another
// socket or daemon on the host joins, or the player opens its SAP socket
// after its RTP one. The host then reports the group before the player
// listens on 9875, the announcement arrives to nobody, and the player
// would wait for the periodic one (interval ± a third, 5 s by default).
// Doubling delays bound that wait by how late the player was, for three
// small packets per join.
constexpr auto kFollowUpFirst = 250ms;
constexpr unsigned kFollowUps = 3;

}  // namespace

SapAnnouncer::SapAnnouncer(SapOptions options, boost::asio::ip::address origin, std::uint64_t session_id,
                           std::uint64_t first_version, std::atomic<std::size_t>& well_known_ads, std::uint64_t seed,
                           Hooks hooks)
    : options_(options),
      origin_(origin),
      session_id_(session_id),
      version_(first_version),
      well_known_ads_(well_known_ads),
      rng_state_(seed),
      hooks_(std::move(hooks)) {}

std::uint64_t SapAnnouncer::random() {
  std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::optional<SapAnnouncer::Clock::time_point> SapAnnouncer::next_event() const {
  if (stopped_) return std::nullopt;
  std::optional<Clock::time_point> next;
  auto consider = [&](std::optional<Clock::time_point> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  consider(next_own_);
  consider(next_well_known_);
  consider(well_known_slot_);
  consider(listener_);
  consider(follow_up_);
  if (dirty_ || sdp_.empty()) consider(last_change_ + kChangeInterval);
  return next;
}

bool SapAnnouncer::listener_appeared(Clock::time_point now) {
  if (stopped_ || sdp_.empty()) return false;  // the first announcement goes out as soon as there is an SDP
  auto when = std::max(now, last_own_announce_ + kListenerInterval);
  if (!listener_ || when < *listener_) listener_ = when;
  if (when > now) return false;
  listener_.reset();
  announce_for_listener(now);
  return true;
}

void SapAnnouncer::publish(Clock::time_point now) {
  last_change_ = now;
  if (hooks_.published) hooks_.published(sdp_, hash_);
}

void SapAnnouncer::on_timer(Clock::time_point now) {
  if (stopped_) return;
  bool well_known = options_.well_known_group;
  if (sdp_.empty()) {
    if (previous_) {
      // RFC 8866 §5.2: the version changes when the description does.
      if (hooks_.describe(previous_->first) == previous_->second) version_ = previous_->first;
      else version_ = std::max(version_, previous_->first + 1);
      previous_.reset();
    }
    sdp_ = hooks_.describe(version_);
    hash_ = sap_msg_id_hash(sdp_, session_id_, 0);
    dirty_ = false;
    if (well_known) ++well_known_ads_;
    publish(now);
    // The first announcement is the one the listener whose join started
    // the session waits for.
    announce_for_listener(now);
    if (well_known) request_well_known(now);
  } else if (dirty_ && now >= last_change_ + kChangeInterval) {
    dirty_ = false;
    if (hooks_.describe(version_) != sdp_) {
      // RFC 2974 §5: a modified description is a new announcement with a
      // new message id hash; the old one is deleted so caches drop it.
      delete_announcement();
      ++version_;
      sdp_ = hooks_.describe(version_);
      hash_ = sap_msg_id_hash(sdp_, session_id_, hash_);
      publish(now);
      announce(true, false, now);
      if (well_known || announced_well_known_) request_well_known(now);
    }
  }
  if (listener_ && now >= *listener_) {
    listener_.reset();
    announce_for_listener(now);
  }
  if (follow_up_ && now >= *follow_up_) {
    announce(true, false, now);
    if (++follow_ups_sent_ < kFollowUps)
      follow_up_ = now + kFollowUpFirst * (1u << (follow_ups_sent_ - 1));
    else
      follow_up_.reset();
  }
  if (next_own_ && now >= *next_own_) announce(true, false, now);
  if (next_well_known_ && now >= *next_well_known_) {
    next_well_known_.reset();
    request_well_known(now);
  }
  if (well_known_slot_ && now >= *well_known_slot_) {
    well_known_slot_.reset();
    announce(false, true, now);
  }
}

void SapAnnouncer::well_known_joined(Clock::time_point now) {
  if (stopped_ || sdp_.empty()) return;  // the first announcement goes there once there is an SDP, if enabled
  request_well_known(now);
}

std::size_t SapAnnouncer::announcement_size() const {
  SapMessage m;
  m.msg_id_hash = hash_;
  m.origin = origin_;
  m.payload_type = std::string(kSdpMimeType);
  m.payload = sdp_;
  return encode_sap(m).size();
}

void SapAnnouncer::request_well_known(Clock::time_point now) {
  if (well_known_slot_) return;  // one is waiting: it will carry the SDP as it is then
  well_known_slot_ = options_.well_known_bandwidth
                         ? options_.well_known_bandwidth->reserve(well_known_group_, now, announcement_size())
                         : now;
}

void SapAnnouncer::announce(bool own_group, bool well_known, Clock::time_point now) {
  SapMessage m;
  m.msg_id_hash = hash_;
  m.origin = origin_;
  m.payload_type = std::string(kSdpMimeType);
  m.payload = sdp_;
  auto packet = encode_sap(m);
  std::size_t size = packet.size();
  if (own_group) {
    hooks_.send({packet, Destination::own_group, false});
    last_own_announce_ = now;
    next_own_ = now + sap_jittered(options_.interval, random());
  }
  if (well_known) {
    if (options_.well_known_bandwidth) options_.well_known_bandwidth->sent(well_known_group_, now, size);
    hooks_.send({std::move(packet), Destination::well_known, false});
    announced_well_known_ = true;
    if (options_.well_known_group) {
      // RFC 2974 §3.1: the shared group's interval, with its floor.
      auto base = sap_base_interval(well_known_ads_.load(), size, options_.well_known_min_interval);
      next_well_known_ = now + sap_jittered(base, random());
    }
  }
  announced_ = true;
}

void SapAnnouncer::announce_for_listener(Clock::time_point now) {
  announce(true, false, now);
  follow_ups_sent_ = 0;
  follow_up_ = now + kFollowUpFirst;
}

void SapAnnouncer::delete_announcement() {
  if (!announced_ || sdp_.empty()) return;
  SapMessage m;
  m.deletion = true;
  m.msg_id_hash = hash_;
  m.origin = origin_;
  m.payload_type = std::string(kSdpMimeType);
  m.payload = sdp_origin_line(sdp_) + "\r\n";  // RFC 2974 §3: a deletion carries the o= line
  auto packet = encode_sap(m);
  // Drain: the deletion leaves after every packet submitted before it.
  hooks_.send({packet, Destination::own_group, true});
  if (options_.well_known_group || announced_well_known_) {
    // Deletions are few and small; they take a slot like the rest, but
    // leave now (the stream is gone).
    if (options_.well_known_bandwidth) (void)options_.well_known_bandwidth->reserve(well_known_group_, Clock::now(), packet.size());
    hooks_.send({std::move(packet), Destination::well_known, true});
  }
}

void SapAnnouncer::stop(bool keep_announcement) {
  if (stopped_) return;
  if (!keep_announcement) delete_announcement();
  if (!sdp_.empty() && options_.well_known_group) --well_known_ads_;
  stopped_ = true;
  announced_ = false;
  next_own_.reset();
  next_well_known_.reset();
  well_known_slot_.reset();
  listener_.reset();
  follow_up_.reset();
}

}  // namespace joincast::media
