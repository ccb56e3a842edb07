// source_factory.cpp — see source_factory.hpp.
#include "media/source/source_factory.hpp"

#include "media/source/file_source.hpp"
#include "media/source/test_tone_source.hpp"
#include "media/source/udp_source.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace joincast::media {

namespace {

// An unusable URL, with the message naming it and what is wrong.
Error bad_url(std::string message) { return invalid(std::move(message)); }

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "a=1&b=2" -> calls f(key, value) for each.
template <class F>
void for_each_param(std::string_view query, F f) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    auto eq = item.find('=');
    f(item.substr(0, eq), eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

template <class T>
bool number(std::string_view text, T& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

Result<ToneOptions> parse_tone_url(std::string_view url, bool* cycle_titles) {
  constexpr std::string_view prefix = "test:tone";
  if (!starts_with(url, prefix) || (url.size() > prefix.size() && url[prefix.size()] != '?')) {
    return bad_url("\"" + std::string(url) + "\" is not a test:tone URL");
  }
  ToneOptions options;
  bool ok = true;
  std::string problem;
  std::string_view query = url.size() > prefix.size() ? url.substr(prefix.size() + 1) : std::string_view{};
  for_each_param(query, [&](std::string_view key, std::string_view value) {
    if (!ok) return;
    if (key == "frequency") {
      double hz = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), hz);
      if (ec != std::errc() || p != value.data() + value.size() || hz < 20 || hz > 20000) {
        problem = "frequency must be 20..20000 Hz";
        ok = false;
      }
      options.frequency_hz = hz;
    } else if (key == "codec") {
      auto codec = parse_tone_codec(value);
      if (!codec) {
        problem = "codec must be mp3, aac, opus, vorbis or mpegts, not \"" + std::string(value) + "\"";
        ok = false;
      } else {
        options.codec = *codec;
      }
    } else if (key == "bitrate") {
      unsigned kbps = 0;
      if (!number(value, kbps) || kbps < 8 || kbps > 512) {
        problem = "bitrate must be 8..512 kbit/s";
        ok = false;
      }
      options.bitrate = kbps * 1000;
    } else if (key == "title") {
      if (cycle_titles) *cycle_titles = value == "cycle";
    } else {
      problem = "unknown parameter \"" + std::string(key) + "\"";
      ok = false;
    }
  });
  if (!ok) {
    return bad_url("\"" + std::string(url) + "\": " + problem);
  }
  return options;
}

Result<SourcePlan> plan_source(const std::string& url, const std::shared_ptr<HttpClient>& http) {
  SourcePlan plan;
  if (starts_with(url, "test:")) {
    TestToneTitles titles;
    auto tone = parse_tone_url(url, &titles.cycle);
    if (!tone) return tone.error();
    plan.kind = "test";
    plan.factory = [options = tone.value(),
                    titles](boost::asio::any_io_executor executor) -> Result<std::unique_ptr<ByteSource>> {
      auto source = TestToneSource::create(std::move(executor), options, titles);
      if (!source) return source.error();
      return std::unique_ptr<ByteSource>(std::move(source).value());
    };
    return plan;
  }
  if (starts_with(url, "http://") || starts_with(url, "https://")) {
    if (!http) {
      return bad_url("\"" + url + "\": no HTTP client configured");
    }
    plan.kind = "http";
    plan.status = std::make_shared<SourceStatusBox>();
    plan.factory = [http, url,
                    box = plan.status](boost::asio::any_io_executor executor) -> Result<std::unique_ptr<ByteSource>> {
      // Connections on the session's own worker, trust shared with the daemon's client.
      auto source = std::make_unique<HttpSource>(http->on(std::move(executor)), url);
      source->on_status([box](const SourceStatus& s) { box->set(s); });
      return std::unique_ptr<ByteSource>(std::move(source));
    };
    return plan;
  }
  if (starts_with(url, "file://")) {
    std::string path = url.substr(7);
    if (path.empty() || path.front() != '/') {
      return bad_url("\"" + url + "\": a file URL needs an absolute path (file:///...)");
    }
    plan.kind = "file";
    plan.factory = [path](boost::asio::any_io_executor executor) -> Result<std::unique_ptr<ByteSource>> {
      FileSourceOptions options;
      options.loop = true;  // a station plays until its last listener leaves
      auto source = FileSource::open(std::move(executor), path, options);
      if (!source) return Error(source.error(), "cannot open " + path + ": " + source.error().message());
      return std::unique_ptr<ByteSource>(std::move(source).value());
    };
    return plan;
  }
  if (starts_with(url, "udp://") || starts_with(url, "rtp://")) {
    std::string_view rest = std::string_view(url).substr(6);
    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    std::string host;
    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
      auto close = rest.find(']');
      if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
        return bad_url("\"" + url + "\": write an IPv6 address as [address]:port");
      }
      host = std::string(rest.substr(1, close - 1));
      port_text = rest.substr(close + 2);
    } else {
      auto colon = rest.rfind(':');
      if (colon == std::string_view::npos) {
        return bad_url("\"" + url + "\": a port is required");
      }
      host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
    }
    UdpSourceOptions options;
    boost::system::error_code ec;
    options.address = boost::asio::ip::make_address(host, ec);
    if (ec || !number(port_text, options.port) || options.port == 0) {
      return bad_url("\"" + url + "\": not an address and port");
    }
    options.payload = starts_with(url, "rtp://") ? UdpSourceOptions::Payload::rtp : UdpSourceOptions::Payload::automatic;
    for_each_param(query, [&](std::string_view key, std::string_view value) {
      if (key == "interface") options.interface = std::string(value);
    });
    plan.kind = "udp";
    plan.factory = [options](boost::asio::any_io_executor executor) -> Result<std::unique_ptr<ByteSource>> {
      auto source = UdpSource::open(std::move(executor), options);
      if (!source) return source.error();
      return std::unique_ptr<ByteSource>(std::move(source).value());
    };
    return plan;
  }
  return bad_url("\"" + url + "\": unsupported URL scheme (test:, http://, https://, file://, udp://, rtp://)");
}

}  // namespace joincast::media
