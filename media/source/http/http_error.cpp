// http_error.cpp — the "source" error category.
#include "media/source/http/http_error.hpp"

namespace joincast::media {

namespace {
class SourceCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "source"; }
  std::string message(int code) const override {
    switch (static_cast<SourceErrc>(code)) {
      case SourceErrc::bad_url: return "malformed URL";
      case SourceErrc::unsupported_scheme: return "unsupported URL scheme";
      case SourceErrc::too_many_redirects: return "too many redirects";
      case SourceErrc::redirect_loop: return "redirect loop";
      case SourceErrc::http_status: return "HTTP error status";
      case SourceErrc::web_page: return "this URL is a web page, not a stream";
      case SourceErrc::not_a_stream: return "this URL is neither a stream nor a playlist";
      case SourceErrc::playlist_empty: return "playlist has no entries";
      case SourceErrc::playlist_too_deep: return "playlists nested too deeply";
      case SourceErrc::playlist_failed: return "no playlist entry could be played";
      case SourceErrc::header_too_large: return "response header too large";
      case SourceErrc::bad_response: return "not an HTTP or ICY response";
      case SourceErrc::timed_out: return "timed out waiting for the response";
      case SourceErrc::stalled: return "stream stalled";
      case SourceErrc::connection_closed: return "server closed the stream";
      case SourceErrc::icy_metadata_corrupt: return "ICY metadata block is corrupt";
      case SourceErrc::document_too_large: return "document too large";
      case SourceErrc::malformed_document: return "malformed document";
      case SourceErrc::tls_failed: return "TLS handshake or certificate verification failed";
      case SourceErrc::gave_up: return "gave up reconnecting";
      case SourceErrc::no_free_adapter: return "no free DVB adapter";
      case SourceErrc::tuner_failed: return "dvblast failed";
    }
    return "unknown source error " + std::to_string(code);
  }
};
}  // namespace

const std::error_category& source_category() noexcept {
  static const SourceCategory category;
  return category;
}

std::error_code make_error_code(SourceErrc e) noexcept { return {static_cast<int>(e), source_category()}; }

bool is_permanent(const std::error_code& e) noexcept {
  return e == SourceErrc::bad_url || e == SourceErrc::unsupported_scheme;
}

}  // namespace joincast::media
