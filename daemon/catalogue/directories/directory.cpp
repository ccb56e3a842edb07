// directory.cpp — see directory.hpp.
#include "daemon/catalogue/directories/directory.hpp"

#include "media/source/http/http_fetch.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace joincast::daemon::catalogue::directories {

using Kind = catalogue::DirectorySection::Kind;

Directory::Directory(catalogue::DirectorySection config, boost::asio::any_io_executor executor,
                     std::shared_ptr<media::HttpClient> http, const std::string& state_dir, std::uint32_t number_limit)
    : config_(std::move(config)),
      executor_(std::move(executor)),
      http_(std::move(http)),
      state_dir_(state_dir),
      numbers_(state_dir + "/directories/" + config_.name + ".numbers.json",
               static_cast<std::uint32_t>(std::min<std::size_t>(number_limit, UINT32_MAX))),
      timer_(executor_) {
  status_.name = config_.name;
  status_.kind = catalogue::directory_kind_name(config_.kind);
  status_.slot = config_.slot;
  switch (config_.kind) {
    case Kind::icecast: status_.source = config_.url.empty() ? config_.file : config_.url; break;
    case Kind::radio_browser: status_.source = fetch_url(); break;
    case Kind::tunein: status_.source = fetch_url(); break;
    case Kind::static_list: status_.source = "configuration"; break;
    case Kind::test: status_.source = "built-in"; break;
  }
}

Directory::~Directory() {
  *alive_ = false;
  timer_.cancel();
}

std::string Directory::cache_path() const { return state_dir_ + "/directories/" + config_.name + ".cache"; }

std::string Directory::fetch_url() const {
  if (config_.kind == Kind::tunein) {
    std::string base = config_.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (!config_.search.empty()) return base + "/Search.ashx?query=" + url_encode(config_.search);
    return base + "/Browse.ashx?" + config_.browse;
  }
  if (config_.kind == Kind::radio_browser) {
    std::string q = "/json/stations/search?hidebroken=true&order=" + config_.order +
                    "&reverse=true&limit=" + std::to_string(config_.limit);
    if (!config_.tag.empty()) q += "&tag=" + url_encode(config_.tag);
    if (!config_.country.empty()) q += "&countrycode=" + url_encode(config_.country);
    if (!config_.codec.empty()) q += "&codec=" + url_encode(config_.codec);
    if (!config_.language.empty()) q += "&language=" + url_encode(config_.language);
    return q;
  }
  return config_.url;
}

void Directory::start() {
  if (auto loaded = numbers_.load(); !loaded) {
    status_.error = "directory " + config_.name + ": " + loaded.error().message();
    changed();
    return;
  }
  numbering_ok_ = true;
  if (config_.kind == Kind::static_list) {
    DirectoryListing l;
    for (const auto& s : config_.stations)
      l.stations.push_back({s.id, s.name.empty() ? s.url : s.name, s.url, s.genre, {}, {}, {}, {}, 0, {}});
    if (l.stations.empty()) apply(invalid("no stations configured"), false);
    else apply(std::move(l), false);
    changed();
    return;
  }
  if (config_.kind == Kind::test) {
    apply(test_directory(), false);
    changed();
    return;
  }
  // The cached copy first: stations are there at once, even offline.
  std::ifstream in(cache_path(), std::ios::binary);
  if (in) {
    std::stringstream buffer;
    buffer << in.rdbuf();
    apply(parse(buffer.str()), true);
  }
  refresh();
}

void Directory::stop() {
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  timer_.cancel();
}

void Directory::refresh() {
  if (!numbering_ok_ || config_.kind == Kind::static_list || config_.kind == Kind::test) return;
  if (status_.refreshing) return;
  status_.refreshing = true;
  fetch();
}

void Directory::schedule() {
  timer_.expires_after(config_.refresh);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    refresh();
  });
}

void Directory::changed() {
  if (on_change_) on_change_(*this);
}

Result<DirectoryListing> Directory::parse(const std::string& document) const {
  switch (config_.kind) {
    case Kind::icecast: return parse_icecast_yp(document, config_.max_stations);
    case Kind::radio_browser: return parse_radio_browser(document, config_.max_stations);
    case Kind::tunein: return parse_tunein_opml(document, config_.max_stations);
    default: return DirectoryListing{};
  }
}

void Directory::fetch() {
  std::weak_ptr<bool> alive = alive_;
  if (config_.kind == Kind::icecast && !config_.file.empty()) {
    std::error_code ec;
    auto size = std::filesystem::file_size(config_.file, ec);
    if (ec) return failed(config_.file + ": " + ec.message());
    if (size > config_.max_bytes)
      return failed(fmt::format("{}: {} bytes exceed the limit of {} (max_bytes)", config_.file, size, config_.max_bytes));
    std::ifstream in(config_.file, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (!in && !in.eof()) return failed(config_.file + ": cannot be read");
    return fetched(buffer.str(), config_.file);
  }
  if (config_.kind == Kind::radio_browser) return fetch_radio_browser(0);
  std::string url = fetch_url();
  media::fetch_document(http_, url, config_.max_bytes, {},
                        [this, alive, url](const Error& f, media::HttpDocument doc) {
                          if (alive.expired()) return;
                          if (f) return failed(fetch_failure(f));
                          fetched(doc.body, url);
                        });
}

// A fetch's failure as the directory reports it: a document over the limit
// names the key that sets it.
std::string Directory::fetch_failure(const Error& f) const {
  if (f.code() == make_error_code(media::SourceErrc::document_too_large)) return f.message() + " (max_bytes)";
  return f.message();
}

// The servers are mirrors: the first one that answers is used.
void Directory::fetch_radio_browser(std::size_t server) {
  std::string base = config_.servers[server];
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = base + fetch_url();
  std::weak_ptr<bool> alive = alive_;
  media::fetch_document(http_, url, config_.max_bytes, {{"Accept", "application/json"}},
                        [this, alive, url, server](const Error& f, media::HttpDocument doc) {
                          if (alive.expired()) return;
                          if (f) {
                            if (server + 1 < config_.servers.size()) return fetch_radio_browser(server + 1);
                            return failed(fetch_failure(f));
                          }
                          good_server_ = server;
                          fetched(doc.body, url);
                        });
}

void Directory::fetched(const std::string& document, const std::string& from) {
  status_.refreshing = false;
  ++status_.attempts;
  status_.attempted = std::chrono::system_clock::now();
  auto listing = parse(document);
  if (!listing) {
    failed(from + ": " + listing.error().message());
    return;
  }
  if (apply(std::move(listing), false)) {
    // Only a document that parsed and numbered cleanly replaces the cache.
    if (auto ec = write_file_atomically(cache_path(), document))
      status_.warnings.push_back("cache " + cache_path() + " not written: " + ec.message());
  }
  changed();
  schedule();
}

void Directory::failed(const std::string& why) {
  status_.refreshing = false;
  ++status_.attempts;
  status_.attempted = std::chrono::system_clock::now();
  status_.error = "directory " + config_.name + ": " + why + (entries_.empty() ? "" : " (keeping the previous list)");
  changed();
  schedule();
}

bool Directory::apply(Result<DirectoryListing> parsed, bool from_cache) {
  if (!parsed) {
    status_.error = "directory " + config_.name + (from_cache ? " (cached copy " + cache_path() + ")" : "") + ": " +
                    parsed.error().message();
    return false;
  }
  DirectoryListing& listing = parsed.value();
  // Number every station first; only if all fit is the list switched over.
  std::vector<std::pair<std::uint32_t, Station>> numbered;
  for (auto& s : listing.stations) {
    auto n = numbers_.assign(s.key, s.name);
    if (!n) {
      status_.error = fmt::format("directory {}: station numbers exhausted ({} used); raise the number space or "
                                  "remove {}",
                                  config_.name, numbers_.next(),
                                  state_dir_ + "/directories/" + config_.name + ".numbers.json");
      return false;
    }
    numbered.emplace_back(*n, std::move(s));
  }
  std::string unsaved;
  if (numbers_.dirty()) {
    if (auto saved = numbers_.save(); !saved) {
      // A number is used only once it is on disk (a restart must not give
      // it to another station): go back to what the file says and list
      // the stations numbered there; the new ones wait for a write that
      // succeeds (the next refresh, reload or restart).
      if (auto reread = numbers_.load(); !reread) {
        status_.error = "directory " + config_.name + ": station numbers not saved: " + saved.error().message();
        return false;
      }
      const std::size_t before = numbered.size();
      std::erase_if(numbered, [&](const auto& p) { return numbers_.find(p.second.key) != p.first; });
      const std::size_t waiting = before - numbered.size();
      unsaved = fmt::format("directory {}: station numbers not saved: {}; {} new station{} not listed until it can "
                            "be written",
                            config_.name, saved.error().message(), waiting, waiting == 1 ? " is" : "s are");
    }
  }
  entries_.clear();
  for (auto& [n, s] : numbered) entries_[n] = Entry{n, std::move(s), true};
  // Stations no longer listed keep their numbers reserved.
  for (const auto& [key, record] : numbers_.records()) {
    if (entries_.contains(record.number)) continue;
    Entry e;
    e.number = record.number;
    e.station.key = key;
    e.station.name = record.name;
    entries_[record.number] = std::move(e);
  }
  status_.listed = numbered.size();
  status_.reserved = entries_.size() - numbered.size();
  status_.warnings = std::move(listing.warnings);
  status_.error = std::move(unsaved);
  status_.updated = std::chrono::system_clock::now();
  return true;
}

const Directory::Entry* Directory::find(std::uint32_t number) const {
  auto it = entries_.find(number);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<const Directory::Entry*> Directory::entries() const {
  std::vector<const Entry*> out;
  for (const auto& [n, e] : entries_) out.push_back(&e);
  return out;
}

void Directory::play_url(std::uint32_t number, PlayHandler done) {
  const Entry* e = find(number);
  auto post = [this, done](Error f, std::string url) {
    boost::asio::post(executor_, [done, f, url] { done(f, url); });
  };
  if (!e)
    return post({make_error_code(media::SourceErrc::not_a_stream),
                 fmt::format("directory {} has no station {}", config_.name, number)},
                {});
  if (!e->listed)
    return post({make_error_code(media::SourceErrc::not_a_stream),
                 fmt::format("station {} of directory {} ({}) is no longer listed; its number stays reserved", number,
                             config_.name, e->station.name)},
                {});
  if (config_.kind != Kind::radio_browser || e->station.uuid.empty()) return post({}, e->station.url);
  // radio-browser asks clients to fetch /json/url/{uuid} when a station is
  // played: it counts the click and answers the URL to play.
  std::string base = config_.servers[std::min(good_server_, config_.servers.size() - 1)];
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string fallback = e->station.url;
  media::fetch_document(http_, base + "/json/url/" + url_encode(e->station.uuid), 64 * 1024,
                        {{"Accept", "application/json"}},
                        [done, fallback](const Error& f, media::HttpDocument doc) {
                          std::string url = f ? std::string() : parse_radio_browser_click(doc.body);
                          // Counting the click is a courtesy: failing it must not stop playback.
                          done({}, url.empty() ? fallback : url);
                        });
}

}  // namespace joincast::daemon::catalogue::directories
