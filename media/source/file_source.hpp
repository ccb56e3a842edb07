// file_source.hpp — a local file as a stream (MP3, ADTS, Ogg, MPEG-TS, or
// anything libavformat can probe), optionally looped forever: a channel
// for tests, benchmarks and stations kept on disk.
//
// Reading is on the session's executor in small chunks and stops when the
// pipeline says pause: the file is paced by the pipeline's clock, never
// read ahead into memory. Looping restarts after an ID3v2 tag and before
// an ID3v1 tag, so a looped MP3 is one continuous frame sequence.
#pragma once

#include "media/byte_source.hpp"
#include "media/error.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace joincast::media {

struct FileSourceOptions {
  bool loop = false;
  std::string content_type;       // empty: from the file name's extension, else probed
  std::size_t chunk_bytes = 8192; // per read (into a buffer shared by the thread's file sources)
};

// The content type a file name suggests ("audio/mpeg" for .mp3, ...),
// empty if the extension says nothing.
std::string content_type_for_path(std::string_view path);

class FileSource final : public ByteSource {
 public:
  // Opens the file now, so a missing or unreadable file is an error here.
  static Result<std::unique_ptr<FileSource>> open(boost::asio::any_io_executor executor, std::string path,
                                                  FileSourceOptions options = {});
  ~FileSource() override;

  void start(ByteSink& sink) override;
  void resume() override;
  void stop() override;
  std::string content_type() const override { return content_type_; }
  std::string describe() const override;

 private:
  struct State;
  explicit FileSource(std::shared_ptr<State> state, std::string content_type);
  static void read_some(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
  std::string content_type_;
};

}  // namespace joincast::media
