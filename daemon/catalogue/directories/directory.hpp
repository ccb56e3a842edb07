// directory.hpp — one configured station directory at run time: where its
// list comes from (a URL or file, an API, the config, the built-in test
// list), the stable numbers of its stations (StationNumbers), a cached
// copy on disk so it works from the first second and offline, and a
// refresh on an interval. A refresh that fails (unreachable, malformed,
// absurdly large) leaves the previous good list in use and records a
// clear error naming the directory.
#pragma once

#include "daemon/catalogue/catalogue_config.hpp"
#include "daemon/catalogue/directories/directory_formats.hpp"
#include "daemon/catalogue/directories/station_numbers.hpp"
#include "media/source/http/http_client.hpp"
#include "media/source/http/http_error.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon::catalogue::directories {

struct DirectoryStatus {
  std::string name;
  std::string kind;
  unsigned slot = 0;
  std::string source;        // URL, file or "built-in"
  std::size_t listed = 0;    // stations in the current list
  std::size_t reserved = 0;  // numbers of stations no longer listed
  std::optional<std::chrono::system_clock::time_point> updated;  // last good list
  std::optional<std::chrono::system_clock::time_point> attempted;
  std::string error;  // the last refresh's failure, "" after a good one
  std::vector<std::string> warnings;
  bool refreshing = false;
  std::uint64_t attempts = 0;  // refreshes completed, good or not
};

class Directory {
 public:
  struct Entry {
    std::uint32_t number = 0;
    Station station;  // for a reserved number only key and name are known
    bool listed = false;
  };
  using PlayHandler = std::function<void(const Error&, std::string url)>;
  using ChangeHandler = std::function<void(const Directory&)>;

  Directory(catalogue::DirectorySection config, boost::asio::any_io_executor executor, std::shared_ptr<media::HttpClient> http,
            const std::string& state_dir, std::uint32_t number_limit);
  ~Directory();

  // Loads numbering and the cached copy, then refreshes now and every
  // config.refresh. A numbering file that cannot be read disables the
  // directory (status().error says why) rather than renumbering it.
  void start();
  void stop();
  void refresh();
  // Called after every refresh attempt (the daemon logs errors once).
  void on_change(ChangeHandler handler) { on_change_ = std::move(handler); }

  const catalogue::DirectorySection& section() const { return config_; }
  const DirectoryStatus& status() const { return status_; }
  const Entry* find(std::uint32_t number) const;
  std::vector<const Entry*> entries() const;

  // The URL to open for station number: radio-browser counts a click
  // (GET /json/url/{uuid}) and plays the URL it answers; others play the
  // listed URL. Fails for unknown or no longer listed numbers.
  void play_url(std::uint32_t number, PlayHandler done);

 private:
  void fetch();
  void fetch_radio_browser(std::size_t server);
  void fetched(const std::string& document, const std::string& from);
  void failed(const std::string& why);
  std::string fetch_failure(const Error& f) const;
  // Applies a parsed list; returns false (and records why) if unusable.
  bool apply(Result<DirectoryListing> listing, bool from_cache);
  Result<DirectoryListing> parse(const std::string& document) const;
  void schedule();
  void changed();
  std::string cache_path() const;
  std::string fetch_url() const;

  catalogue::DirectorySection config_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<media::HttpClient> http_;
  std::string state_dir_;
  StationNumbers numbers_;
  bool numbering_ok_ = false;
  std::size_t good_server_ = 0;  // radio-browser: the mirror that answered last
  std::map<std::uint32_t, Entry> entries_;
  DirectoryStatus status_;
  boost::asio::steady_timer timer_;
  ChangeHandler on_change_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace joincast::daemon::catalogue::directories
