// catalogue_config.cpp — see catalogue_config.hpp.
#include "daemon/catalogue/catalogue_config.hpp"

#include <fmt/format.h>

#include <set>

namespace joincast::daemon::catalogue {

namespace {

void parse_address_plan(core::ConfigReader& r, const toml::table& root, AddressLayout& l) {
  const std::string path = "address_plan";
  const toml::table& t = *r.table(root, "address_plan", "");
  r.only_keys(t, path,
              {"ipv6_prefix", "ipv6_prefix_interface", "ipv6_scope", "directory_bits", "dvb_frequency_base_khz",
               "dvb_frequency_step_khz", "ipv4_block", "ipv4_directory_bits"});
  std::string prefix = r.string(t, "ipv6_prefix", path, "");
  if (!prefix.empty()) {
    l.ipv6_prefix = parse_ipv6_prefix(prefix);
    if (!l.ipv6_prefix) r.error(t.get("ipv6_prefix"), path + ".ipv6_prefix", "must be an IPv6 prefix of length 64, e.g. \"2001:db8:1::/64\"");
  }
  l.ipv6_prefix_interface = r.string(t, "ipv6_prefix_interface", path, "");
  if (!prefix.empty() && !l.ipv6_prefix_interface.empty())
    r.error(t.get("ipv6_prefix_interface"), path + ".ipv6_prefix_interface", "set either ipv6_prefix or ipv6_prefix_interface, not both");
  std::string scope = r.string(t, "ipv6_scope", path, "e");
  if (scope.size() == 1 && std::isxdigit(static_cast<unsigned char>(scope[0])))
    l.ipv6_scope = static_cast<unsigned>(std::stoul(scope, nullptr, 16));
  else
    r.error(t.get("ipv6_scope"), path + ".ipv6_scope", "must be one hex digit (e global, 8 organisation, 5 site)");
  l.directory_bits = static_cast<unsigned>(r.integer(t, "directory_bits", path, l.directory_bits, 0, 8));
  l.dvb_base_khz = static_cast<std::uint32_t>(r.integer(t, "dvb_frequency_base_khz", path, l.dvb_base_khz, 1, 100'000'000));
  l.dvb_step_khz = static_cast<std::uint32_t>(r.integer(t, "dvb_frequency_step_khz", path, l.dvb_step_khz, 1, 1'000'000));
  std::string block = r.string(t, "ipv4_block", path, "239.255.0.0/16");
  auto slash = block.find('/');
  boost::system::error_code ec;
  if (slash != std::string::npos) {
    l.ipv4_base = boost::asio::ip::make_address_v4(block.substr(0, slash), ec);
    try {
      l.ipv4_prefix_length = static_cast<unsigned>(std::stoul(block.substr(slash + 1)));
    } catch (const std::exception&) {
      ec = boost::asio::error::invalid_argument;
    }
  }
  if (slash == std::string::npos || ec) r.error(t.get("ipv4_block"), path + ".ipv4_block", "must be an IPv4 block such as \"239.255.0.0/16\"");
  l.ipv4_directory_bits = static_cast<unsigned>(r.integer(t, "ipv4_directory_bits", path, l.ipv4_directory_bits, 0, 8));
  if (std::string why = AddressPlan::validate(l); !why.empty()) r.error(&t, path, why);
}

void parse_http(core::ConfigReader& r, const toml::table& root, media::HttpOptions& h) {
  const std::string path = "http";
  const toml::table& t = *r.table(root, "http", "");
  r.only_keys(t, path,
              {"user_agent", "max_redirects", "max_playlist_depth", "max_header_bytes", "max_playlist_bytes",
               "response_timeout", "stall_timeout", "reconnect_initial", "reconnect_max", "reconnect_reset",
               "reconnect_attempts", "ca_file", "verify_tls"});
  h.user_agent = r.string(t, "user_agent", path, h.user_agent);
  if (h.user_agent.empty() || h.user_agent.find_first_of("\r\n") != std::string::npos)
    r.error(t.get("user_agent"), path + ".user_agent", "must be a non-empty single line");
  h.max_redirects = static_cast<unsigned>(r.integer(t, "max_redirects", path, h.max_redirects, 0, 32));
  h.max_playlist_depth = static_cast<unsigned>(r.integer(t, "max_playlist_depth", path, h.max_playlist_depth, 0, 16));
  h.max_header_bytes = static_cast<std::size_t>(r.integer(t, "max_header_bytes", path, static_cast<std::int64_t>(h.max_header_bytes), 1024, 1 << 24));
  h.max_playlist_bytes = static_cast<std::size_t>(r.integer(t, "max_playlist_bytes", path, static_cast<std::int64_t>(h.max_playlist_bytes), 1024, 1 << 28));
  h.response_timeout = r.positive_duration(t, "response_timeout", path, h.response_timeout);
  h.stall_timeout = r.positive_duration(t, "stall_timeout", path, h.stall_timeout);
  h.reconnect_initial = r.positive_duration(t, "reconnect_initial", path, h.reconnect_initial);
  h.reconnect_max = r.positive_duration(t, "reconnect_max", path, h.reconnect_max);
  h.reconnect_reset = r.positive_duration(t, "reconnect_reset", path, h.reconnect_reset);
  h.reconnect_attempts = static_cast<unsigned>(r.integer(t, "reconnect_attempts", path, h.reconnect_attempts, 0, 1'000'000));
  h.ca_file = r.string(t, "ca_file", path, h.ca_file);
  h.verify_tls = r.boolean(t, "verify_tls", path, h.verify_tls);
  for (auto [key, value] : {std::pair{"response_timeout", h.response_timeout}, std::pair{"stall_timeout", h.stall_timeout},
                            std::pair{"reconnect_initial", h.reconnect_initial}})
    if (value.count() <= 0) r.error(t.get(key), path + "." + key, "must be positive");
  if (h.reconnect_max < h.reconnect_initial)
    r.error(t.get("reconnect_max"), path + ".reconnect_max", "must not be shorter than reconnect_initial");
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

void parse_directories(core::ConfigReader& r, const toml::table& root, const AddressLayout& layout,
                       std::vector<DirectorySection>& out) {
  const toml::node* n = root.get("directory");
  if (!n) return;
  const toml::array* list = n->as_array();
  if (!list) return r.error(n, "directory", "must be an array of tables ([[directory]])");
  std::set<std::string> names;
  std::set<unsigned> slots;
  std::size_t index = 0;
  for (const toml::node& item : *list) {
    const std::string path = fmt::format("directory[{}]", index++);
    const toml::table* tp = item.as_table();
    if (!tp) {
      r.error(&item, path, "must be a table");
      continue;
    }
    const toml::table& t = *tp;
    DirectorySection d;
    r.only_keys(t, path,
                {"name", "type", "slot", "url", "file", "refresh", "max_bytes", "max_stations", "servers", "tag",
                 "country", "codec", "language", "order", "limit", "base_url", "browse", "search", "station"});
    d.name = r.string(t, "name", path, "");
    if (!valid_name(d.name)) r.error(t.get("name"), path + ".name", "is required: lower-case letters, digits, - and _");
    else if (!names.insert(d.name).second) r.error(t.get("name"), path + ".name", "\"" + d.name + "\" is used twice");
    std::string kind = r.string(t, "type", path, "");
    if (kind == "icecast") d.kind = DirectorySection::Kind::icecast;
    else if (kind == "radio-browser") d.kind = DirectorySection::Kind::radio_browser;
    else if (kind == "tunein") d.kind = DirectorySection::Kind::tunein;
    else if (kind == "static") d.kind = DirectorySection::Kind::static_list;
    else if (kind == "test") d.kind = DirectorySection::Kind::test;
    else r.error(t.get("type"), path + ".type", "must be \"icecast\", \"radio-browser\", \"tunein\", \"static\" or \"test\"");
    const std::int64_t max_slot = (std::int64_t{1} << layout.directory_bits) - 1;
    d.slot = static_cast<unsigned>(r.integer(t, "slot", path, -1, 0, max_slot));
    if (!t.get("slot")) r.error(&t, path + ".slot", fmt::format("is required (0..{})", max_slot));
    else if (t.get("slot")->is_integer() && !slots.insert(d.slot).second)
      r.error(t.get("slot"), path + ".slot", fmt::format("slot {} is used by another directory", d.slot));
    d.url = r.string(t, "url", path, "");
    d.file = r.string(t, "file", path, "");
    d.refresh = r.duration(t, "refresh", path, d.refresh);
    if (d.refresh < std::chrono::minutes(1)) r.error(t.get("refresh"), path + ".refresh", "must be at least 1m");
    d.max_bytes = static_cast<std::size_t>(r.integer(t, "max_bytes", path, static_cast<std::int64_t>(d.max_bytes), 1024, std::int64_t{1} << 30));
    d.max_stations = static_cast<std::size_t>(r.integer(t, "max_stations", path, static_cast<std::int64_t>(d.max_stations), 1, std::int64_t{1} << layout.station_bits()));
    if (t.get("servers")) d.servers = r.strings(t, "servers", path);
    d.tag = r.string(t, "tag", path, "");
    d.country = r.string(t, "country", path, "");
    d.codec = r.string(t, "codec", path, "");
    d.language = r.string(t, "language", path, "");
    d.order = r.string(t, "order", path, d.order);
    if (d.order != "clickcount" && d.order != "votes" && d.order != "clicktrend")
      r.error(t.get("order"), path + ".order", "must be \"clickcount\", \"votes\" or \"clicktrend\"");
    d.limit = static_cast<unsigned>(r.integer(t, "limit", path, d.limit, 1, 100'000));
    d.base_url = r.string(t, "base_url", path, d.base_url);
    d.browse = r.string(t, "browse", path, "");
    d.search = r.string(t, "search", path, "");
    using K = DirectorySection::Kind;
    if (d.kind == K::icecast && d.url.empty() == d.file.empty())
      r.error(&t, path, "an icecast directory needs either url or file");
    if (d.kind == K::radio_browser && d.servers.empty()) r.error(t.get("servers"), path + ".servers", "must list at least one server");
    if (d.kind == K::tunein && d.browse.empty() == d.search.empty())
      r.error(&t, path, "a tunein directory needs either browse or search");
    if (const toml::node* sn = t.get("station")) {
      const toml::array* sl = sn->as_array();
      if (!sl) r.error(sn, path + ".station", "must be an array of tables ([[directory.station]])");
      std::size_t k = 0;
      std::set<std::string> ids;
      for (const toml::node& s : sl ? *sl : toml::array{}) {
        const std::string sp = fmt::format("{}.station[{}]", path, k++);
        const toml::table* st = s.as_table();
        if (!st) {
          r.error(&s, sp, "must be a table");
          continue;
        }
        r.only_keys(*st, sp, {"id", "name", "url", "genre"});
        StaticStation station;
        station.url = r.string(*st, "url", sp, "");
        station.name = r.string(*st, "name", sp, "");
        station.genre = r.string(*st, "genre", sp, "");
        station.id = r.string(*st, "id", sp, station.url);
        if (station.url.empty()) r.error(st, sp + ".url", "is required");
        if (!ids.insert(station.id).second) r.error(st, sp, "\"" + station.id + "\" is listed twice (give one an id)");
        d.stations.push_back(std::move(station));
      }
    }
    if (d.kind != K::static_list && !d.stations.empty()) r.error(t.get("station"), path + ".station", "only a static directory lists stations");
    out.push_back(std::move(d));
  }
}

void parse_dvb(core::ConfigReader& r, const toml::table& root, const AddressLayout& layout, DvbSection& d) {
  const std::string path = "dvb";
  const toml::table& t = *r.table(root, "dvb", "");
  r.only_keys(t, path, {"dvblast", "dvblastctl", "runtime_dir", "adapters", "udp_inputs", "extra_args", "port", "ttl",
                        "start_timeout", "carrier"});
  d.tuner.dvblast = r.string(t, "dvblast", path, d.tuner.dvblast);
  d.tuner.dvblastctl = r.string(t, "dvblastctl", path, d.tuner.dvblastctl);
  d.tuner.runtime_dir = r.string(t, "runtime_dir", path, d.tuner.runtime_dir);
  d.tuner.extra_args = r.strings(t, "extra_args", path);
  d.tuner.start_timeout = r.positive_duration(t, "start_timeout", path, d.tuner.start_timeout);
  d.port = static_cast<std::uint16_t>(r.integer(t, "port", path, d.port, 1, 65535));
  d.ttl = static_cast<unsigned>(r.integer(t, "ttl", path, d.ttl, 0, 255));
  if (const toml::node* an = t.get("adapters")) {
    const toml::array* a = an->as_array();
    if (!a) r.error(an, path + ".adapters", "must be a list of adapter numbers, or of \"adapter:frontend\"");
    for (const toml::node& item : a ? *a : toml::array{}) {
      media::DvbAdapter adapter;
      if (auto i = item.value_exact<std::int64_t>(); i && *i >= 0 && *i < 256) {
        adapter.number = static_cast<int>(*i);
      } else if (auto s = item.value_exact<std::string>(); s && s->find(':') != std::string::npos) {
        try {
          adapter.number = std::stoi(s->substr(0, s->find(':')));
          adapter.frontend = std::stoi(s->substr(s->find(':') + 1));
        } catch (const std::exception&) {
          adapter.number = -1;
        }
      }
      if (adapter.number < 0) r.error(&item, path + ".adapters", "entries are adapter numbers (0..255) or \"adapter:frontend\"");
      else d.tuner.adapters.push_back(adapter);
    }
  }
  for (const auto& input : r.strings(t, "udp_inputs", path)) d.tuner.adapters.push_back({-1, 0, input});
  const toml::node* cn = t.get("carrier");
  if (!cn) return;
  const toml::array* list = cn->as_array();
  if (!list) return r.error(cn, path + ".carrier", "must be an array of tables ([[dvb.carrier]])");
  AddressPlan plan(layout);
  std::size_t index = 0;
  for (const toml::node& item : *list) {
    const std::string cp = fmt::format("dvb.carrier[{}]", index++);
    const toml::table* tp = item.as_table();
    if (!tp) {
      r.error(&item, cp, "must be a table");
      continue;
    }
    const toml::table& ct = *tp;
    r.only_keys(ct, cp, {"name", "dvblast", "frequency_khz", "polarisation", "symbol_rate", "delivery", "modulation",
                         "fec", "rolloff", "pilot", "services"});
    media::DvbCarrier c;
    std::string line = r.string(ct, "dvblast", cp, "");
    if (!line.empty()) {
      auto parsed = media::parse_dvblast_command(line);
      if (!parsed) r.error(ct.get("dvblast"), cp + ".dvblast", parsed.error().message());
      else c = parsed.value();
      for (auto key : {"frequency_khz", "polarisation", "symbol_rate", "delivery", "modulation", "fec", "rolloff", "pilot"})
        if (ct.get(key)) r.error(ct.get(key), cp + "." + key, "is already given by the dvblast line");
    } else {
      c.frequency_khz = static_cast<std::uint32_t>(r.integer(ct, "frequency_khz", cp, 0, 0, 100'000'000));
      if (!ct.get("frequency_khz")) r.error(&ct, cp + ".frequency_khz", "is required (or give a dvblast line)");
      auto pol = media::parse_polarisation(r.string(ct, "polarisation", cp, ""));
      if (!pol) r.error(ct.get("polarisation") ? ct.get("polarisation") : &ct, cp + ".polarisation", "must be h, v, l or r");
      else c.polarisation = *pol;
      c.symbol_rate = static_cast<std::uint32_t>(r.integer(ct, "symbol_rate", cp, 0, 1000, 100'000'000));
      if (!ct.get("symbol_rate")) r.error(&ct, cp + ".symbol_rate", "is required");
      std::string delivery = r.string(ct, "delivery", cp, "DVBS");
      if (delivery == "DVBS" || delivery == "dvbs") c.delivery = media::DeliverySystem::dvbs;
      else if (delivery == "DVBS2" || delivery == "dvbs2") c.delivery = media::DeliverySystem::dvbs2;
      else r.error(ct.get("delivery"), cp + ".delivery", "must be \"DVBS\" or \"DVBS2\"");
      c.modulation = r.string(ct, "modulation", cp, c.delivery == media::DeliverySystem::dvbs2 ? "qpsk" : "");
      c.fec = r.string(ct, "fec", cp, "");
      c.rolloff = r.string(ct, "rolloff", cp, "");
      c.pilot = r.string(ct, "pilot", cp, "");
      // The same checks as the dvblast line's -m, -F, -R and -P.
      struct Tuning {
        const char* key;
        std::string& value;
        Result<std::string> (*check)(std::string_view);
      };
      for (Tuning k : {Tuning{"modulation", c.modulation, media::check_modulation}, Tuning{"fec", c.fec, media::check_fec},
                       Tuning{"rolloff", c.rolloff, media::check_rolloff}, Tuning{"pilot", c.pilot, media::check_pilot}}) {
        if (k.value.empty()) continue;
        if (auto v = k.check(k.value)) k.value = v.value();
        else r.error(ct.get(k.key), cp + "." + k.key, "\"" + k.value + "\" " + v.error().message());
      }
    }
    c.name = r.string(ct, "name", cp, "");
    if (c.frequency_khz) {
      if (auto n = plan.encode(DvbServiceKey{c.frequency_khz, media::polarisation_bit(c.polarisation), 0}); !n)
        r.error(&ct, cp, "frequency does not fit the address plan: " + n.error().message());
    }
    if (const toml::node* sn = ct.get("services")) {
      const toml::array* sl = sn->as_array();
      if (!sl) r.error(sn, cp + ".services", "must be a list of { id = N, name = \"...\" }");
      for (const toml::node& s : sl ? *sl : toml::array{}) {
        const toml::table* st = s.as_table();
        if (!st) {
          r.error(&s, cp + ".services", "entries must be { id = N, name = \"...\" }");
          continue;
        }
        r.only_keys(*st, cp + ".services", {"id", "name"});
        media::DvbService svc;
        svc.id = static_cast<std::uint16_t>(r.integer(*st, "id", cp + ".services.id", 0, 1, 65535));
        if (!st->get("id")) r.error(st, cp + ".services.id", "is required");
        svc.name = r.string(*st, "name", cp + ".services", "");
        if (c.service(svc.id)) r.error(st, cp + ".services", fmt::format("service id {} is listed twice", svc.id));
        c.services.push_back(svc);
      }
    }
    for (const auto& other : d.carriers)
      if (other.same_tuning(c) && c.frequency_khz)
        r.error(&ct, cp, "the same frequency and polarisation as carrier " + other.describe());
    d.carriers.push_back(std::move(c));
  }
}

}  // namespace

const char* directory_kind_name(DirectorySection::Kind kind) {
  switch (kind) {
    case DirectorySection::Kind::icecast: return "icecast";
    case DirectorySection::Kind::radio_browser: return "radio-browser";
    case DirectorySection::Kind::tunein: return "tunein";
    case DirectorySection::Kind::static_list: return "static";
    case DirectorySection::Kind::test: return "test";
  }
  return "?";
}

void parse_catalogue(core::ConfigReader& reader, const toml::table& root, CatalogueConfig& out) {
  parse_address_plan(reader, root, out.address_plan);
  parse_http(reader, root, out.http);
  parse_directories(reader, root, out.address_plan, out.directories);
  parse_dvb(reader, root, out.address_plan, out.dvb);
}

}  // namespace joincast::daemon::catalogue
