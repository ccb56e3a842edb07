// http_locator.cpp — see http_locator.hpp.
#include "media/source/http/http_locator.hpp"

#include "media/source/http/http_fetch.hpp"
#include "media/source/http/playlist_parser.hpp"
#include "media/source/http/sniff.hpp"

#include <boost/asio/post.hpp>

namespace joincast::media {

namespace {

using Done = std::function<void(const Error&, Location)>;

class Locator : public std::enable_shared_from_this<Locator> {
 public:
  explicit Locator(std::shared_ptr<HttpClient> client) : client_(std::move(client)) {}

  // depth: how many playlists enclose url.
  void try_url(const std::string& url, unsigned depth, std::vector<std::string> path, Done done) {
    path.push_back(url);
    open_following_redirects(
        client_, url, {{"Icy-MetaData", "1"}},
        [self = shared_from_this(), depth, path = std::move(path), done = std::move(done)](
            const Error& f, std::shared_ptr<HttpConnection> c) mutable {
          if (f) return done(f, {});
          self->answered(std::move(c), depth, std::move(path), std::move(done));
        });
  }

 private:
  static Error failure(SourceErrc code, const std::string& url, const std::string& what) {
    return {make_error_code(code), url + ": " + what};
  }

  void answered(std::shared_ptr<HttpConnection> c, unsigned depth, std::vector<std::string> path, Done done) {
    const auto& head = c->head();
    std::string url = c->url().to_string();
    if (path.back() != url) path.push_back(url);
    std::string type(head.field("content-type"));
    ContentClass cls = classify_content_type(type);
    // Only streaming servers interleave ICY metadata or say "ICY 200 OK".
    if (cls.kind == ContentKind::unknown && (head.icy || !head.field("icy-metaint").empty()))
      cls.kind = ContentKind::media;
    if (cls.kind == ContentKind::unknown || cls.kind == ContentKind::text)
      return sniff(std::move(c), depth, std::move(path), std::move(done));
    decided(std::move(c), cls, {}, false, depth, std::move(path), std::move(done));
  }

  // Reads up to sniff_bytes of the body, then decides by its content.
  void sniff(std::shared_ptr<HttpConnection> c, unsigned depth, std::vector<std::string> path, Done done) {
    struct State {
      std::string prefix;
      bool decided = false;
      bool ended = false;
      Error end_failure;
    };
    auto st = std::make_shared<State>();
    auto decide = [self = shared_from_this(), c, st, depth, path, done]() mutable {
      if (st->decided) return;
      st->decided = true;
      if (st->end_failure && st->prefix.empty()) return done(st->end_failure, {});
      ContentClass cls = sniff_content(std::as_bytes(std::span<const char>(st->prefix.data(), st->prefix.size())));
      self->decided(c, cls, std::move(st->prefix), st->ended, depth, std::move(path), std::move(done));
    };
    auto executor = client_->executor();
    c->read_body(
        [st, executor, decide](std::span<const std::byte> bytes) mutable {
          if (st->decided) return Flow::pause;
          st->prefix.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          if (st->prefix.size() < sniff_bytes) return Flow::more;
          // Decide after the connection has handed over everything it
          // holds from this read.
          boost::asio::post(executor, decide);
          return Flow::pause;
        },
        [st, executor, decide](const Error& f) mutable {
          st->ended = true;
          st->end_failure = f;
          boost::asio::post(executor, decide);
        });
  }

  void decided(std::shared_ptr<HttpConnection> c, ContentClass cls, std::string prefix, bool ended, unsigned depth,
               std::vector<std::string> path, Done done) {
    std::string url = c->url().to_string();
    std::string type(c->head().field("content-type"));
    switch (cls.kind) {
      case ContentKind::media:
        return done({}, LocatedStream{std::move(c), std::move(prefix), ended, std::move(path)});
      case ContentKind::hls:
        c->close();
        return done({}, HlsStream{url});
      case ContentKind::html:
        c->close();
        return done(failure(SourceErrc::web_page, url, "this URL is a web page, not a stream"), {});
      case ContentKind::text:
      case ContentKind::unknown:
        c->close();
        return done(failure(SourceErrc::not_a_stream, url,
                            "answers with " + (type.empty() ? std::string("text") : type) +
                                " that is neither a stream nor a playlist"),
                    {});
      case ContentKind::playlist: break;
    }
    auto on_doc = [self = shared_from_this(), cls, depth, path = std::move(path), done](
                      const Error& f, HttpDocument doc) mutable {
      if (f) return done(f, {});
      self->playlist(std::move(doc), cls.playlist, depth, std::move(path), std::move(done));
    };
    if (ended) {
      HttpDocument doc{c->url(), c->head(), std::move(prefix)};
      c->close();
      return on_doc({}, std::move(doc));
    }
    read_document(std::move(c), std::move(prefix), client_->options().max_playlist_bytes, std::move(on_doc));
  }

  void playlist(HttpDocument doc, PlaylistFormat format, unsigned depth, std::vector<std::string> path, Done done) {
    std::string url = doc.url.to_string();
    if (format == PlaylistFormat::m3u && looks_like_hls(doc.body)) return done({}, HlsStream{url});
    if (depth >= client_->options().max_playlist_depth)
      return done(failure(SourceErrc::playlist_too_deep, url,
                          "playlists nested more than " + std::to_string(client_->options().max_playlist_depth) +
                              " deep"),
                  {});
    auto parsed = parse_playlist(format, doc.body);
    if (!parsed)
      return done(failure(SourceErrc::malformed_document, url,
                          std::string(playlist_format_name(format)) + " playlist: " + parsed.error().message()),
                  {});
    std::vector<std::string> targets;
    for (const auto& e : parsed.value()) {
      auto resolved = doc.url.resolve(e.location);
      targets.push_back(resolved ? resolved.value().to_string() : e.location);
    }
    if (targets.empty())
      return done(failure(SourceErrc::playlist_empty, url,
                          std::string(playlist_format_name(format)) + " playlist has no entries"),
                  {});
    auto attempt = std::make_shared<Attempt>();
    attempt->url = url;
    attempt->format = format;
    attempt->targets = std::move(targets);
    attempt->depth = depth + 1;
    attempt->path = std::move(path);
    attempt->done = std::move(done);
    next_entry(attempt);
  }

  struct Attempt {
    std::string url;
    PlaylistFormat format;
    std::vector<std::string> targets;
    std::size_t index = 0;
    unsigned depth = 0;
    std::vector<std::string> path;
    std::vector<std::string> reasons;
    Error first;
    Done done;
  };

  void next_entry(const std::shared_ptr<Attempt>& a) {
    if (a->index >= a->targets.size()) {
      // One entry: its own failure says it best. Several: list them.
      if (a->targets.size() == 1) return a->done(a->first, {});
      std::string why = "none of the " + std::to_string(a->targets.size()) + " " + playlist_format_name(a->format) +
                        " playlist entries played";
      for (std::size_t i = 0; i < a->reasons.size() && i < 4; ++i) why += "; " + a->reasons[i];
      if (a->reasons.size() > 4) why += "; ...";
      return a->done({make_error_code(SourceErrc::playlist_failed), a->url + ": " + why}, {});
    }
    std::string target = a->targets[a->index++];
    try_url(target, a->depth, a->path, [self = shared_from_this(), a](const Error& f, Location loc) {
      if (!f) return a->done({}, std::move(loc));
      if (!a->first) a->first = f;
      a->reasons.push_back(f.message());
      self->next_entry(a);
    });
  }

  std::shared_ptr<HttpClient> client_;
};

}  // namespace

void locate_stream(std::shared_ptr<HttpClient> client, const std::string& url, LocateHandler done) {
  auto locator = std::make_shared<Locator>(std::move(client));
  locator->try_url(url, 0, {}, std::move(done));
}

}  // namespace joincast::media
