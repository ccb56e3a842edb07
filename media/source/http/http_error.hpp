// http_error.hpp — why a network source failed, as std::error_code values of
// the "source" category. The code says what kind of failure it was; a
// failure reaches its handler as a joincast::Error (common/result.hpp): this
// code and the operator-facing sentence with the details, naming the input
// ("http://x/live: HTTP 404 Not Found"). An empty Error means success.
#pragma once

#include "common/result.hpp"

#include <string>
#include <system_error>

namespace joincast::media {

enum class SourceErrc {
  bad_url = 1,           // the URL cannot be parsed
  unsupported_scheme,    // not http, https or icy
  too_many_redirects,    // more than HttpOptions::max_redirects
  redirect_loop,         // a redirect led back to a URL already visited
  http_status,           // a status other than 2xx/3xx
  web_page,              // the URL answers with HTML
  not_a_stream,          // text that is neither a playlist nor audio
  playlist_empty,        // a playlist without a usable entry
  playlist_too_deep,     // playlists nested deeper than the limit
  playlist_failed,       // every entry of a playlist failed
  header_too_large,      // the response head exceeds the limit
  bad_response,          // not an HTTP or ICY response
  timed_out,             // no complete response head in time
  stalled,               // the body stopped arriving
  connection_closed,     // the server closed a live stream
  icy_metadata_corrupt,  // an ICY metadata block is not metadata
  document_too_large,    // a playlist or directory exceeds its size limit
  malformed_document,    // a playlist or directory that does not parse
  tls_failed,            // TLS handshake or certificate verification failed
  gave_up,               // reconnecting failed too many times in a row
  no_free_adapter,       // every DVB adapter is tuned to another carrier
  tuner_failed,          // dvblast could not be started, reloaded or died
};

const std::error_category& source_category() noexcept;
std::error_code make_error_code(SourceErrc e) noexcept;

// A failure that trying again cannot mend: the URL itself is wrong (it does
// not parse, or names a scheme joincast does not play).
bool is_permanent(const std::error_code& e) noexcept;

}  // namespace joincast::media

template <>
struct std::is_error_code_enum<joincast::media::SourceErrc> : std::true_type {};
