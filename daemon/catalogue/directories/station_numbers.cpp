// station_numbers.cpp — see station_numbers.hpp.
#include "daemon/catalogue/directories/station_numbers.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace joincast::daemon::catalogue::directories {

std::error_code write_file_atomically(const std::string& path, const std::string& text) {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return ec;
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return last_error();
  // Whatever fails, the file at path is untouched and no partial
  // temporary file is left to fill the disk further.
  auto fail = [&](int e) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return errno_error(e);
  };
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(errno);
  int closed = ::close(fd);
  fd = -1;
  if (closed != 0) return fail(errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno);
  // The rename itself survives a crash once the directory is synced.
  if (int d = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  return {};
}

Result<void> StationNumbers::load() {
  by_key_.clear();
  next_ = 0;
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return success();
    return Error(last_error(), path_ + ": " + std::strerror(errno));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    auto j = nlohmann::json::parse(buffer.str());
    if (j.value("format", 0) != 1) throw std::runtime_error("unknown format");
    next_ = j.at("next").get<std::uint32_t>();
    std::set<std::uint32_t> used;
    for (const auto& s : j.at("stations")) {
      Record r{s.at("number").get<std::uint32_t>(), s.value("name", "")};
      std::string key = s.at("key").get<std::string>();
      if (r.number >= next_ || !used.insert(r.number).second || by_key_.contains(key))
        throw std::runtime_error("station numbers are inconsistent");
      by_key_.emplace(std::move(key), std::move(r));
    }
  } catch (const std::exception& e) {
    return Error(errno_error(EBADMSG),
                 path_ + ": cannot be read (" + e.what() + "); fix or remove it, stations would be renumbered");
  }
  return success();
}

Result<void> StationNumbers::save() const {
  nlohmann::json stations = nlohmann::json::array();
  // Ordered by number so that the file reads like the directory.
  std::map<std::uint32_t, std::pair<std::string, std::string>> ordered;
  for (const auto& [key, r] : by_key_) ordered[r.number] = {key, r.name};
  for (const auto& [number, kn] : ordered) stations.push_back({{"number", number}, {"key", kn.first}, {"name", kn.second}});
  nlohmann::json j = {{"format", 1}, {"next", next_}, {"stations", stations}};
  if (auto ec = write_file_atomically(path_, j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"))
    return Error(ec, path_ + ": " + ec.message());
  dirty_ = false;
  return success();
}

std::optional<std::uint32_t> StationNumbers::assign(const std::string& key, const std::string& name) {
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    if (!name.empty() && it->second.name != name) {
      it->second.name = name;
      dirty_ = true;
    }
    return it->second.number;
  }
  if (next_ >= limit_) return std::nullopt;
  by_key_.emplace(key, Record{next_, name});
  dirty_ = true;
  return next_++;
}

std::optional<std::uint32_t> StationNumbers::find(const std::string& key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second.number;
}

}  // namespace joincast::daemon::catalogue::directories
