// http_client.hpp — what every HTTP request of joincast shares: the
// options (limits, timeouts, User-Agent, reconnect policy) and one TLS
// context that verifies servers against the system's trust store.
// Connections, document fetches and stream sources are made from it.
#pragma once

#include "media/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace joincast::media {

using std::chrono::milliseconds;

struct HttpOptions {
  std::string user_agent = "joincast/0.1 (+https://github.com/joincast/joincast)";
  unsigned max_redirects = 8;
  unsigned max_playlist_depth = 4;
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_playlist_bytes = 1024 * 1024;
  // Connect, TLS handshake, request and the whole response head.
  milliseconds response_timeout{15'000};
  // No body byte for this long (while not paused) is a stalled stream.
  milliseconds stall_timeout{15'000};
  // Reconnecting a live stream: the n-th consecutive failure waits a random
  // time in [d/2, d] with d = min(max, initial · 2^n) ("equal jitter").
  milliseconds reconnect_initial{1'000};
  milliseconds reconnect_max{60'000};
  // A stream that played this long resets the failure count.
  milliseconds reconnect_reset{30'000};
  // Consecutive failed attempts before the source gives up; 0 = never.
  unsigned reconnect_attempts = 10;
  // Extra trust anchors (PEM file) besides the system store; tests use it.
  std::string ca_file;
  bool verify_tls = true;
};

class HttpClient {
 public:
  using Executor = boost::asio::any_io_executor;

  // Fails when ca_file cannot be read or the system store cannot be loaded.
  static Result<std::shared_ptr<HttpClient>> create(Executor executor, HttpOptions options);

  const Executor& executor() const { return executor_; }
  const HttpOptions& options() const { return options_; }
  boost::asio::ssl::context& tls() { return *tls_; }

  // The same client (options and TLS trust, loaded once) for connections
  // on another executor: a media session's worker. An SSL_CTX may be shared
  // by connections on several threads once it is set up.
  std::shared_ptr<HttpClient> on(Executor executor) const;

  HttpClient(Executor executor, HttpOptions options);

 private:
  Executor executor_;
  HttpOptions options_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace joincast::media
