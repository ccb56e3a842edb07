// station_numbers.hpp — the stable numbering of one directory's stations.
// A station gets the next free number the first time it is seen and keeps
// it forever: a refresh that reorders, adds or removes stations never
// changes what a number means, and a vanished station's number stays
// reserved. The table lives in the state directory as JSON, written
// atomically (temporary file, fsync, rename) before any new number is used.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace joincast::daemon::catalogue::directories {

class StationNumbers {
 public:
  struct Record {
    std::uint32_t number = 0;
    std::string name;  // last known name, to show reserved numbers
  };

  StationNumbers() = default;
  StationNumbers(std::string path, std::uint32_t limit) : path_(std::move(path)), limit_(limit) {}

  // Reads the table (a missing file is an empty table). A file that does
  // not parse is an error: guessing would renumber stations.
  Result<void> load();
  Result<void> save() const;

  // The number of key, assigning the next one on first sight; nullopt when
  // the directory's number space (limit) is exhausted.
  std::optional<std::uint32_t> assign(const std::string& key, const std::string& name);
  std::optional<std::uint32_t> find(const std::string& key) const;
  const std::map<std::string, Record>& records() const { return by_key_; }
  bool dirty() const { return dirty_; }
  std::uint32_t next() const { return next_; }

 private:
  std::string path_;
  std::uint32_t limit_ = 0;
  std::uint32_t next_ = 0;
  std::map<std::string, Record> by_key_;
  mutable bool dirty_ = false;
};

// Writes text to path atomically (tmp + fsync + rename), creating
// directories as needed.
std::error_code write_file_atomically(const std::string& path, const std::string& text);

}  // namespace joincast::daemon::catalogue::directories
