// test_directory.cpp — the built-in offline directory: test tones made
// locally, in a fixed order so that a fresh state dir numbers them 0, 1, 2, ...
#include "daemon/catalogue/directories/directory_formats.hpp"

namespace joincast::daemon::catalogue::directories {

DirectoryListing test_directory() {
  // Fixed order: these keys get numbers 0, 1, 2, ... in a fresh state dir.
  struct Tone {
    const char* url;
    const char* name;
    const char* codec;
  };
  static const Tone tones[] = {
      {"test:tone?frequency=440&codec=mp3&bitrate=128", "Test tone 440 Hz (MP3)", "MP3"},
      {"test:tone?frequency=1000&codec=mp3&bitrate=128", "Test tone 1 kHz (MP3)", "MP3"},
      {"test:tone?frequency=440&codec=aac&bitrate=96", "Test tone 440 Hz (AAC)", "AAC"},
      {"test:tone?frequency=440&codec=opus&bitrate=64", "Test tone 440 Hz (Opus)", "Opus"},
      {"test:tone?frequency=440&codec=mp3&bitrate=128&title=cycle", "Test tone with changing titles", "MP3"},
  };
  DirectoryListing l;
  for (const auto& t : tones) {
    Station s;
    s.key = t.url;
    s.url = t.url;
    s.name = t.name;
    s.codec = t.codec;
    s.genre = "Test";
    l.stations.push_back(std::move(s));
  }
  return l;
}

}  // namespace joincast::daemon::catalogue::directories
