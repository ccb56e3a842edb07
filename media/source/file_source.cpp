// file_source.cpp — chunked, flow-controlled file reading.
#include "media/source/file_source.hpp"

#include "media/engine/multicast_socket.hpp"
#include "media/text.hpp"

#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace joincast::media {

struct FileSource::State {
  boost::asio::any_io_executor executor;
  std::string path;
  FileSourceOptions options;
  UniqueFd fd;
  off_t start = 0;  // where a loop restarts (after an ID3v2 tag)
  off_t end = 0;    // where a loop turns (before an ID3v1 tag)
  off_t position = 0;
  ByteSink* sink = nullptr;
  bool running = false;  // a read is posted or under way
  bool stopped = false;
};

std::string content_type_for_path(std::string_view path) {
  auto dot = path.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string ext = ascii_lower(path.substr(dot + 1));
  if (ext == "mp3" || ext == "mp2" || ext == "mpga") return "audio/mpeg";
  if (ext == "aac" || ext == "adts") return "audio/aac";
  if (ext == "ogg" || ext == "oga" || ext == "opus") return "application/ogg";
  if (ext == "ts" || ext == "mts" || ext == "m2t" || ext == "trp") return "video/mp2t";
  return {};
}

Result<std::unique_ptr<FileSource>> FileSource::open(boost::asio::any_io_executor executor, std::string path,
                                                     FileSourceOptions options) {
  auto state = std::make_shared<State>();
  state->fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!state->fd) return last_error();
  struct stat st {};
  if (fstat(state->fd.get(), &st) != 0) return last_error();
  if (!S_ISREG(st.st_mode)) return errno_error(S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  state->end = st.st_size;
  // ID3v2 (id3.org v2.4 §3.1): "ID3", version, flags, 28-bit syncsafe size
  // (+10 header, +10 footer if flagged).
  std::array<std::uint8_t, 10> head{};
  if (pread(state->fd.get(), head.data(), head.size(), 0) == 10 && head[0] == 'I' && head[1] == 'D' && head[2] == '3') {
    off_t size = (head[6] & 0x7f) << 21 | (head[7] & 0x7f) << 14 | (head[8] & 0x7f) << 7 | (head[9] & 0x7f);
    state->start = std::min<off_t>(state->end, 10 + size + ((head[5] & 0x10) ? 10 : 0));
  }
  std::array<char, 3> tail{};
  if (state->end - state->start >= 128 && pread(state->fd.get(), tail.data(), 3, state->end - 128) == 3 &&
      tail[0] == 'T' && tail[1] == 'A' && tail[2] == 'G')
    state->end -= 128;  // ID3v1
  if (state->end <= state->start) return errno_error(ENODATA);
  state->executor = std::move(executor);
  state->options = std::move(options);
  if (state->options.chunk_bytes == 0) state->options.chunk_bytes = 8192;
  state->path = std::move(path);
  std::string type = state->options.content_type.empty() ? content_type_for_path(state->path) : state->options.content_type;
  return std::unique_ptr<FileSource>(new FileSource(std::move(state), std::move(type)));
}

FileSource::FileSource(std::shared_ptr<State> state, std::string content_type)
    : state_(std::move(state)), content_type_(std::move(content_type)) {}

FileSource::~FileSource() { stop(); }

std::string FileSource::describe() const { return state_->path; }

void FileSource::start(ByteSink& sink) {
  state_->sink = &sink;
  // The first pass includes the ID3v2 tag (the demuxer reads the title from it).
  state_->position = 0;
  state_->running = true;
  boost::asio::post(state_->executor, [s = state_] { read_some(s); });
}

void FileSource::resume() {
  if (state_->stopped || state_->running || !state_->sink) return;
  state_->running = true;
  boost::asio::post(state_->executor, [s = state_] { read_some(s); });
}

void FileSource::stop() {
  state_->stopped = true;
  state_->sink = nullptr;
}

void FileSource::read_some(const std::shared_ptr<State>& s) {
  // A few chunks per turn, then yield the thread to other sessions. The
  // sink copies what it takes, so every file source on a thread reads into
  // the same buffer.
  constexpr int kChunksPerTurn = 4;
  thread_local std::vector<std::byte> buffer;
  buffer.resize(s->options.chunk_bytes);
  for (int i = 0; i < kChunksPerTurn; ++i) {
    if (s->stopped || !s->sink) {
      s->running = false;
      return;
    }
    if (s->position >= s->end) {
      if (!s->options.loop) {
        s->running = false;
        ByteSink* sink = s->sink;
        s->sink = nullptr;
        sink->on_end({});
        return;
      }
      s->position = s->start;
    }
    auto want = static_cast<std::size_t>(std::min<off_t>(static_cast<off_t>(buffer.size()), s->end - s->position));
    ssize_t n = pread(s->fd.get(), buffer.data(), want, s->position);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      s->running = false;
      ByteSink* sink = s->sink;
      s->sink = nullptr;
      sink->on_end(n < 0 ? last_error() : errno_error(EIO));  // a file that shrank under us
      return;
    }
    s->position += n;
    if (s->sink->on_data(std::span(buffer.data(), static_cast<std::size_t>(n))) == Flow::pause) {
      s->running = false;
      return;
    }
  }
  boost::asio::post(s->executor, [s] { read_some(s); });
}

}  // namespace joincast::media
