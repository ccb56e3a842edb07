// http_fetch.cpp — see http_fetch.hpp.
#include "media/source/http/http_fetch.hpp"

#include <set>

namespace joincast::media {

namespace {

struct Follow : std::enable_shared_from_this<Follow> {
  std::shared_ptr<HttpClient> client;
  HttpHeaders headers;
  OpenedHandler done;
  std::vector<std::string> chain;
  std::set<std::string> seen;
  std::shared_ptr<HttpConnection> connection;

  void finish(const Error& f, std::shared_ptr<HttpConnection> c) {
    auto d = std::move(done);
    if (d) d(f, std::move(c));
  }

  void go(const Url& url) {
    chain.push_back(url.to_string());
    seen.insert(url.to_string());
    connection = HttpConnection::create(client);
    connection->open(url, headers, [self = shared_from_this()](const Error& f) { self->opened(f); });
  }

  void opened(const Error& f) {
    auto c = std::move(connection);
    if (f) return finish(f, nullptr);
    const auto& head = c->head();
    if (head.redirect()) {
      std::string location(head.field("location"));
      std::string from = c->url().to_string();
      c->close();
      if (location.empty())
        return finish({make_error_code(SourceErrc::bad_response),
                       from + ": HTTP " + std::to_string(head.status) + " without a Location"},
                      nullptr);
      auto next = c->url().resolve(location);
      if (!next)
        return finish({next.error(), from + ": redirect to unusable URL \"" + location + "\" (" +
                                         next.error().message() + ")"},
                      nullptr);
      std::string target = next.value().to_string();
      if (seen.contains(target)) {
        std::string path;
        for (const auto& u : chain) path += u + " -> ";
        return finish({make_error_code(SourceErrc::redirect_loop), chain.front() + ": redirect loop: " + path + target},
                      nullptr);
      }
      if (chain.size() > client->options().max_redirects)
        return finish({make_error_code(SourceErrc::too_many_redirects),
                       chain.front() + ": more than " + std::to_string(client->options().max_redirects) +
                           " redirects (last " + target + ")"},
                      nullptr);
      return go(next.value());
    }
    if (head.status < 200 || head.status > 299) {
      std::string from = c->url().to_string();
      c->close();
      return finish({make_error_code(SourceErrc::http_status),
                     from + ": HTTP " + std::to_string(head.status) + (head.reason.empty() ? "" : " " + head.reason)},
                    nullptr);
    }
    finish({}, std::move(c));
  }
};

}  // namespace

void open_following_redirects(std::shared_ptr<HttpClient> client, const std::string& url, HttpHeaders headers,
                              OpenedHandler done) {
  auto parsed = Url::parse(url);
  if (!parsed) {
    auto code = parsed.error();
    boost::asio::post(client->executor(), [done = std::move(done), code, url] {
      done({code, url + ": " + code.message()}, nullptr);
    });
    return;
  }
  auto f = std::make_shared<Follow>();
  f->client = std::move(client);
  f->headers = std::move(headers);
  f->done = std::move(done);
  f->go(parsed.value());
}

void read_document(std::shared_ptr<HttpConnection> connection, std::string already, std::size_t max_bytes,
                   DocumentHandler done) {
  struct State {
    std::shared_ptr<HttpConnection> connection;
    HttpDocument doc;
    std::size_t max;
    DocumentHandler done;
    bool finished = false;
  };
  auto st = std::make_shared<State>();
  st->connection = connection;
  st->doc.url = connection->url();
  st->doc.head = connection->head();
  st->doc.body = std::move(already);
  st->max = max_bytes;
  st->done = std::move(done);
  auto too_large = [st]() {
    // close() destroys the body handlers, and with them this lambda's copy
    // of st (called from the data handler, the last owner of the state):
    // nothing captured may be touched after it.
    auto keep = st;
    keep->finished = true;
    DocumentHandler finish = std::move(keep->done);
    std::string why = keep->doc.url.to_string() + ": larger than " + std::to_string(keep->max) + " bytes";
    keep->connection->close();
    finish({make_error_code(SourceErrc::document_too_large), std::move(why)}, {});
  };
  if (auto len = st->doc.head.content_length; (len && *len > max_bytes) || st->doc.body.size() > max_bytes) {
    return too_large();
  }
  connection->read_body(
      [st, too_large](std::span<const std::byte> bytes) {
        if (st->finished) return Flow::more;
        if (st->doc.body.size() + bytes.size() > st->max) {
          too_large();
          return Flow::more;
        }
        st->doc.body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        return Flow::more;
      },
      [st](const Error& f) {
        if (st->finished) return;
        st->finished = true;
        st->connection.reset();
        if (f) st->done(f, {});
        else st->done({}, std::move(st->doc));
      });
}

void fetch_document(std::shared_ptr<HttpClient> client, const std::string& url, std::size_t max_bytes,
                    HttpHeaders headers, DocumentHandler done) {
  open_following_redirects(std::move(client), url, std::move(headers),
                           [max_bytes, done = std::move(done)](const Error& f,
                                                               std::shared_ptr<HttpConnection> c) mutable {
                             if (f) return done(f, {});
                             read_document(std::move(c), {}, max_bytes, std::move(done));
                           });
}

}  // namespace joincast::media
