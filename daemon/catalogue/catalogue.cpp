// catalogue.cpp — see catalogue.hpp.
#include "daemon/catalogue/catalogue.hpp"

#include "daemon/core/log.hpp"

#include <fmt/format.h>

#include <charconv>

namespace joincast::daemon::catalogue {

using nlohmann::json;

namespace {

std::int64_t unix_seconds(const std::optional<std::chrono::system_clock::time_point>& t) {
  if (!t) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
}

bool parse_u32(std::string_view s, std::uint32_t& out) {
  int base = 10;
  if (s.starts_with("0x") || s.starts_with("0X")) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Catalogue::Catalogue(boost::asio::io_context& io, core::ControlServer& control, const CatalogueConfig& config,
                     std::string state_dir, const core::InterfaceTable& interfaces)
    : io_(io), control_(control), state_dir_(std::move(state_dir)), interfaces_(interfaces) {
  build(config);
}

Catalogue::~Catalogue() { stop(); }

void Catalogue::build(const CatalogueConfig& config) {
  config_ = config;
  plan_ = AddressPlan(config_.address_plan);
  refresh_prefix();
  auto client = media::HttpClient::create(io_.get_executor(), config_.http);
  if (!client) {
    // The system trust store or ca_file is unreadable: TLS stations and
    // directories fail with that reason; plain HTTP still works.
    core::log::error("http: TLS trust store cannot be loaded ({}); https sources will fail", client.error().message());
    media::HttpOptions o = config_.http;
    o.ca_file.clear();
    http_ = std::make_shared<media::HttpClient>(io_.get_executor(), o);
  } else {
    http_ = client.value();
  }
  directories_.clear();
  const std::uint32_t limit = std::uint32_t{1} << config_.address_plan.station_bits();
  for (const auto& d : config_.directories) {
    auto dir = std::make_unique<directories::Directory>(d, io_.get_executor(), http_, state_dir_, limit);
    dir->on_change([this, last_error = std::string()](const directories::Directory& dd) mutable {
      const auto& s = dd.status();
      if (started_)
        control_.publish("directories", {{"event", "directory"}, {"name", s.name}, {"listed", s.listed},
                                          {"reserved", s.reserved}, {"error", s.error}});
      if (!s.error.empty()) {
        if (s.error != last_error) core::log::warning("{}", s.error);
      } else {
        core::log::info("directory {}: {} stations listed, {} numbers reserved{}", s.name, s.listed, s.reserved,
                  s.warnings.empty() ? "" : " (" + fmt::format("{}", fmt::join(s.warnings, "; ")) + ")");
      }
      last_error = s.error;
    });
    directories_.push_back(std::move(dir));
  }
  // Adapters change only while no dvblast runs: a running service keeps
  // the tuner it was started on.
  if (tuner_ && !tuner_->tuned().empty()) {
    core::log::notice("dvb: adapter changes take effect once no DVB service is running");
  } else {
    tuner_ = std::make_unique<media::DvbTuner>(io_.get_executor(), config_.dvb.tuner);
    tuner_->on_failure([this](const media::DvbCarrier& c, const Error& f) {
      // Logged once, where it is handled: by the sessions on that carrier.
      if (on_dvb_failure_) on_dvb_failure_(c, f);
      else core::log::error("dvb: {}", f.message());
    });
  }
}

void Catalogue::refresh_prefix() const {
  const auto& ifname = config_.address_plan.ipv6_prefix_interface;
  if (ifname.empty()) return;
  if (auto p = interface_ipv6_prefix(interfaces_, ifname)) plan_.set_ipv6_prefix(*p);
}

Result<void> Catalogue::start() {
  core::ControlServer& control = control_;
  control.add("directories", "station directories, their stations, numbers and groups; DVB channel table",
              [this](const json& request) { return directories_json(request); });
  control.add("map", "convert a group address to its service number and back", [this](const json& request) {
    if (!request.contains("query") || !request["query"].is_string())
      return Result<json>(invalid("map needs \"query\": a group address, a number, D/S or dvb:FREQ:POL:SID"));
    return map_json(request["query"].get<std::string>());
  });
  control.add("resolve", "what a group stands for and, with \"play\": true, the URL a session would open",
              [this](const json& request) { return resolve_json(request); });
  started_ = true;
  for (auto& d : directories_) d->start();
  return success();
}

Result<json> Catalogue::resolve_json(const json& request) {
  if (!request.contains("group") || !request["group"].is_string())
    return invalid("resolve needs \"group\": a multicast group address");
  std::string text = request["group"].get<std::string>();
  auto group = GroupAddress::parse(text);
  if (!group) return invalid(text + " is not a multicast group address");
  auto resolved = resolve(group.value());
  if (!resolved) return resolved.error();
  json j = describe_number(resolved.value().number);
  if (const auto* t = std::get_if<InternetTarget>(&resolved.value().target)) {
    if (request.value("play", false)) {
      play_url(*t, [this, text](const Error& f, std::string url) {
        if (!started_) return;
        control_.publish("catalogue", {{"event", "play-url"}, {"group", text}, {"url", url}, {"error", f ? f.message() : std::string()}});
      });
      j["play_url"] = "requested";
    }
  } else {
    auto d = describe_dvb(std::get<DvbTarget>(resolved.value().target));
    j["sdp"] = {{"name", d.name}, {"carrier", d.carrier}, {"payload_type", d.payload_type}, {"encoding", d.encoding},
                {"port", d.port}};
  }
  return j;
}

Result<void> Catalogue::reload(const CatalogueConfig& config) {
  for (auto& d : directories_) d->stop();
  build(config);
  for (auto& d : directories_) d->start();
  return success();
}

void Catalogue::stop() {
  for (auto& d : directories_) d->stop();
  if (tuner_) tuner_->stop_all();
}

directories::Directory* Catalogue::directory_by_slot(unsigned slot) const {
  for (const auto& d : directories_)
    if (d->section().slot == slot) return d.get();
  return nullptr;
}

directories::Directory* Catalogue::directory_by_name(const std::string& name) const {
  for (const auto& d : directories_)
    if (d->section().name == name) return d.get();
  return nullptr;
}

Result<ResolvedService> Catalogue::resolve(const GroupAddress& group) const {
  refresh_prefix();
  auto number = plan_.number_of(group);
  if (!number) return std::move(number).error().context(group.to_string());
  ResolvedService r{group, number.value(), {}};
  auto key = plan_.decode(number.value());
  if (const auto* s = std::get_if<InternetStation>(&key)) {
    const directories::Directory* d = directory_by_slot(s->directory);
    if (!d) {
      return Error(errno_error(ENOENT), fmt::format("{}: no directory is configured in slot {}", group.to_string(), s->directory));
    }
    const directories::Directory::Entry* e = d->find(s->station);
    if (!e) {
      return Error(errno_error(ENOENT), fmt::format("{}: directory {} has no station {}", group.to_string(), d->section().name, s->station));
    }
    if (!e->listed) {
      return Error(errno_error(ENOENT), fmt::format("{}: station {} of directory {} ({}) is no longer listed", group.to_string(), s->station,
                           d->section().name, e->station.name));
    }
    r.target = InternetTarget{d->section().name, s->directory, s->station, e->station};
    return r;
  }
  const auto& k = std::get<DvbServiceKey>(key);
  for (const auto& c : config_.dvb.carriers) {
    if (c.frequency_khz != k.frequency_khz || media::polarisation_bit(c.polarisation) != k.vertical) continue;
    const media::DvbService* svc = c.service(k.service_id);
    // A carrier entered without its services accepts any service id.
    if (!svc && !c.services.empty()) {
      return Error(errno_error(ENOENT), fmt::format("{}: carrier {} has no service {} in the channel table", group.to_string(), c.describe(),
                           k.service_id));
    }
    r.target = DvbTarget{c, k.service_id,
                         svc && !svc->name.empty() ? svc->name : "DVB service " + std::to_string(k.service_id)};
    return r;
  }
  return Error(errno_error(ENOENT), fmt::format("{}: no carrier at {} kHz {} in the channel table", group.to_string(), k.frequency_khz,
                       k.vertical ? "V" : "H"));
}

void Catalogue::play_url(const InternetTarget& target, directories::Directory::PlayHandler done) {
  directories::Directory* d = directory_by_name(target.directory);
  if (!d) {
    boost::asio::post(io_, [done, name = target.directory] {
      done({make_error_code(media::SourceErrc::not_a_stream), "directory " + name + " is no longer configured"}, {});
    });
    return;
  }
  d->play_url(target.station, std::move(done));
}

void Catalogue::start_dvb(const DvbTarget& target, const GroupAddress& group, unsigned ifindex,
                          media::DvbTuner::Done done) {
  tuner_->add_service(target.carrier, target.service_id,
                      {group.to_string(), config_.dvb.port, ifindex, config_.dvb.ttl}, std::move(done));
}

void Catalogue::stop_dvb(const DvbTarget& target, const GroupAddress& group, unsigned ifindex,
                         media::DvbTuner::Done done) {
  tuner_->remove_service(target.carrier, target.service_id,
                         {group.to_string(), config_.dvb.port, ifindex, config_.dvb.ttl}, std::move(done));
}

media::DvbStreamDescription Catalogue::describe_dvb(const DvbTarget& target) const {
  return media::describe_service(target.carrier, target.service_id, {{}, config_.dvb.port, 0, 0});
}

void Catalogue::on_dvb_failure(media::DvbTuner::FailureHandler handler) { on_dvb_failure_ = std::move(handler); }

json Catalogue::describe_number(ServiceNumber number) const {
  json j;
  j["service_number"] = number.value;
  j["group_id"] = fmt::format("0x{:08x}", number.group_id());
  auto v6 = plan_.ipv6_group(number);
  j["group"] = v6 ? json(v6->to_string()) : json(nullptr);
  auto v4 = plan_.ipv4_group(number);
  j["group_v4"] = v4 ? json(v4->to_string()) : json(nullptr);
  auto key = plan_.decode(number);
  if (const auto* s = std::get_if<InternetStation>(&key)) {
    j["kind"] = "internet";
    j["slot"] = s->directory;
    j["station"] = s->station;
    if (const directories::Directory* d = directory_by_slot(s->directory)) {
      j["directory"] = d->section().name;
      if (const auto* e = d->find(s->station)) {
        j["name"] = e->station.name;
        j["listed"] = e->listed;
        if (e->listed) j["url"] = e->station.url;
      }
    }
  } else {
    const auto& k = std::get<DvbServiceKey>(key);
    j["kind"] = "dvb";
    j["frequency_khz"] = k.frequency_khz;
    j["polarisation"] = k.vertical ? "vertical" : "horizontal";
    j["service_id"] = k.service_id;
    for (const auto& c : config_.dvb.carriers) {
      if (c.frequency_khz != k.frequency_khz || media::polarisation_bit(c.polarisation) != k.vertical) continue;
      j["carrier"] = c.describe();
      if (const auto* svc = c.service(k.service_id)) j["name"] = svc->name;
    }
  }
  return j;
}

Result<json> Catalogue::map_json(const std::string& query) const {
  refresh_prefix();
  auto fail = [&](const std::string& reason) -> Result<json> { return invalid("map " + query + ": " + reason); };
  // dvb:FREQ_KHZ:POL:SID
  if (query.starts_with("dvb:")) {
    std::vector<std::string> parts;
    std::string_view rest(query);
    rest.remove_prefix(4);
    while (true) {
      auto c = rest.find(':');
      parts.emplace_back(rest.substr(0, c));
      if (c == std::string_view::npos) break;
      rest.remove_prefix(c + 1);
    }
    std::uint32_t f = 0, sid = 0;
    auto pol = parts.size() == 3 ? media::parse_polarisation(parts[1]) : std::nullopt;
    if (parts.size() != 3 || !parse_u32(parts[0], f) || !pol || !parse_u32(parts[2], sid) || sid > 0xffff)
      return fail("expected dvb:FREQUENCY_KHZ:h|v:SERVICE_ID");
    auto n = plan_.encode(DvbServiceKey{f, media::polarisation_bit(*pol), static_cast<std::uint16_t>(sid)});
    if (!n) return fail(n.error().message());
    return describe_number(n.value());
  }
  // D/S: directory slot (or name) and station number.
  if (auto slash = query.find('/'); slash != std::string::npos) {
    std::string dir = query.substr(0, slash);
    std::uint32_t slot = 0, station = 0;
    if (!parse_u32(dir, slot)) {
      const directories::Directory* d = directory_by_name(dir);
      if (!d) return fail("no directory called " + dir);
      slot = d->section().slot;
    }
    if (!parse_u32(query.substr(slash + 1), station)) return fail("the station number is not a number");
    auto n = plan_.encode(InternetStation{slot, station});
    if (!n) return fail(n.error().message());
    return describe_number(n.value());
  }
  std::uint32_t value = 0;
  if (parse_u32(query, value)) {
    // A group id has the top bit set; a service number does not.
    return describe_number(ServiceNumber{value & 0x7fff'ffffu});
  }
  auto group = GroupAddress::parse(query);
  if (!group) return fail("not a multicast group, a number, D/S or dvb:FREQ:POL:SID");
  auto n = plan_.number_of(group.value());
  if (!n) return fail(n.error().message());
  json j = describe_number(n.value());
  j["query_group"] = group.value().to_string();
  return j;
}

Result<json> Catalogue::directories_json(const json& request) const {
  refresh_prefix();
  std::string only = request.value("directory", "");
  bool stations = request.value("stations", true);
  if (!only.empty() && !directory_by_name(only)) return invalid("no directory called " + only);
  if (request.contains("refresh")) {
    for (const auto& d : directories_)
      if (only.empty() || d->section().name == only) d->refresh();
  }
  json dirs = json::array();
  for (const auto& d : directories_) {
    if (!only.empty() && d->section().name != only) continue;
    const auto& s = d->status();
    json j = {{"name", s.name},       {"type", s.kind},         {"slot", s.slot},
              {"source", s.source},   {"listed", s.listed},     {"reserved", s.reserved},
              {"updated", unix_seconds(s.updated)}, {"attempted", unix_seconds(s.attempted)},
              {"error", s.error},     {"warnings", s.warnings}, {"refreshing", s.refreshing},
              {"attempts", s.attempts}};
    if (stations) {
      json list = json::array();
      for (const auto* e : d->entries()) {
        auto n = plan_.encode(InternetStation{s.slot, e->number});
        json st = {{"number", e->number}, {"name", e->station.name}, {"listed", e->listed}};
        if (n) {
          auto v6 = plan_.ipv6_group(n.value());
          auto v4 = plan_.ipv4_group(n.value());
          st["group"] = v6 ? json(v6->to_string()) : json(nullptr);
          st["group_v4"] = v4 ? json(v4->to_string()) : json(nullptr);
        }
        if (e->listed) {
          st["url"] = e->station.url;
          st["genre"] = e->station.genre;
          st["codec"] = e->station.codec;
          st["bitrate_kbps"] = e->station.bitrate_kbps;
          if (!e->station.country.empty()) st["country"] = e->station.country;
        }
        list.push_back(std::move(st));
      }
      j["stations"] = std::move(list);
    }
    dirs.push_back(std::move(j));
  }
  json carriers = json::array();
  if (only.empty()) {
    for (const auto& c : config_.dvb.carriers) {
      json services = json::array();
      for (const auto& svc : c.services) {
        auto n = plan_.encode(DvbServiceKey{c.frequency_khz, media::polarisation_bit(c.polarisation), svc.id});
        auto v6 = n ? plan_.ipv6_group(n.value()) : std::nullopt;
        services.push_back({{"id", svc.id}, {"name", svc.name}, {"group", v6 ? json(v6->to_string()) : json(nullptr)}});
      }
      carriers.push_back({{"name", c.name},
                          {"frequency_khz", c.frequency_khz},
                          {"polarisation", media::polarisation_name(c.polarisation)},
                          {"symbol_rate", c.symbol_rate},
                          {"delivery", media::delivery_system_name(c.delivery)},
                          {"modulation", c.modulation},
                          {"fec", c.fec},
                          {"services", services}});
    }
  }
  json tuned = json::array();
  for (const auto& t : tuner_->tuned()) {
    json outs = json::array();
    for (const auto& [sid, o] : t.outputs) outs.push_back({{"service_id", sid}, {"group", o.group}});
    tuned.push_back({{"adapter", t.adapter}, {"carrier", t.carrier.describe()}, {"pid", t.pid}, {"outputs", outs}});
  }
  json prefix = plan_.layout().ipv6_prefix ? json(format_ipv6_prefix(*plan_.layout().ipv6_prefix)) : json(nullptr);
  return json{{"directories", dirs}, {"dvb", {{"carriers", carriers}, {"tuned", tuned}}}, {"ipv6_prefix", prefix}};
}

}  // namespace joincast::daemon::catalogue
