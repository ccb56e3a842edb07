// http_fetch.hpp — GET with redirects followed (at most
// HttpOptions::max_redirects, a URL seen twice is a loop), and GET of a
// whole document (a playlist, a directory listing) with a size limit.
#pragma once

#include "media/source/http/http_connection.hpp"

#include <functional>
#include <memory>
#include <string>

namespace joincast::media {

// Opens url and follows 301/302/303/307/308 until a response that is not a
// redirect. A status other than 2xx is a failure ("HTTP 404 Not Found").
// On success the connection has its head and its body is unread.
using OpenedHandler = std::function<void(const Error&, std::shared_ptr<HttpConnection>)>;
void open_following_redirects(std::shared_ptr<HttpClient> client, const std::string& url, HttpHeaders headers,
                              OpenedHandler done);

struct HttpDocument {
  Url url;  // after redirects
  HttpResponseHead head;
  std::string body;
};

using DocumentHandler = std::function<void(const Error&, HttpDocument)>;
// Fetches a whole body of at most max_bytes (more is
// SourceErrc::document_too_large, checked before and while reading).
void fetch_document(std::shared_ptr<HttpClient> client, const std::string& url, std::size_t max_bytes,
                    HttpHeaders headers, DocumentHandler done);

// Reads the rest of an opened connection's body into a document, with
// already holding bytes read before (a sniffed prefix).
void read_document(std::shared_ptr<HttpConnection> connection, std::string already, std::size_t max_bytes,
                   DocumentHandler done);

}  // namespace joincast::media
