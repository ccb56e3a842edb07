// directory_test.cpp — directory documents (yp.xml, radio-browser JSON,
// TuneIn OPML) including broken and hostile ones, the persisted station
// numbering, and the catalogue's configuration sections.
#include "daemon/app/config.hpp"
#include "daemon/catalogue/directories/directory_formats.hpp"
#include "daemon/catalogue/directories/station_numbers.hpp"
#include "media/source/http/http_error.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace joincast::daemon;
using namespace joincast::daemon::catalogue::directories;
using joincast::Result;
namespace media = joincast::media;

namespace {

std::string yp(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string x = "<?xml version=\"1.0\"?>\n<directory>\n";
  for (const auto& [name, url] : entries)
    x += "<entry><server_name>" + name + "</server_name><listen_url>" + url +
         "</listen_url><server_type>audio/mpeg</server_type><bitrate>128</bitrate><channels>2</channels>"
         "<samplerate>44100</samplerate><genre>Jazz Blues</genre><current_song>Now &amp; then</current_song></entry>\n";
  return x + "</directory>\n";
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("jc-unit-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("yp.xml entries become stations keyed by listen URL") {
  auto l = parse_icecast_yp(yp({{"A", "http://a/1"}, {"B", "http://b/2"}, {"A again", "http://a/1"}}), 100);
  REQUIRE(l.has_value());
  REQUIRE(l.value().stations.size() == 2);
  CHECK(l.value().stations[0].key == "http://a/1");
  CHECK(l.value().stations[0].name == "A");
  CHECK(l.value().stations[0].bitrate_kbps == 128);
  CHECK(l.value().stations[0].codec == "audio/mpeg");
  CHECK(l.value().stations[0].now_playing == "Now & then");
  CHECK(l.value().warnings == std::vector<std::string>{"1 duplicate entries ignored"});
}

TEST_CASE("broken and absurd yp.xml documents are errors") {
  CHECK(parse_icecast_yp("<directory><entry>", 10).error().message().find("malformed XML") == 0);
  CHECK(parse_icecast_yp("<html/>", 10).error().message() == "root element is <html>, not <directory>");
  CHECK(parse_icecast_yp("<directory/>", 10).error().message() == "no usable stations");
  auto big = parse_icecast_yp(yp({{"A", "http://a/"}, {"B", "http://b/"}, {"C", "http://c/"}}), 2);
  CHECK(big.error().message() == "3 entries exceed the limit of 2 (max_stations)");
  CHECK_FALSE(big.has_value());  // an error: no stations
  CHECK(big.error() == media::SourceErrc::document_too_large);
  CHECK(parse_icecast_yp("<html/>", 10).error() == media::SourceErrc::malformed_document);
  CHECK(parse_icecast_yp("<directory/>", 10).error() == media::SourceErrc::playlist_empty);
  auto no_url = parse_icecast_yp("<directory><entry><server_name>x</server_name></entry>"
                                 "<entry><listen_url>http://y/</listen_url></entry></directory>",
                                 10);
  REQUIRE(no_url.has_value());
  CHECK(no_url.value().warnings == std::vector<std::string>{"1 entries without a stream URL ignored"});
}

TEST_CASE("radio-browser JSON: uuid keys, resolved URLs, click answers") {
  auto l = parse_radio_browser(R"([
    {"stationuuid":"u1","name":"One","url":"http://one/pls","url_resolved":"http://one/live","tags":"jazz,blues",
     "countrycode":"DE","codec":"MP3","bitrate":128,"homepage":"http://one/"},
    {"stationuuid":"u2","name":"Two\n","url":"http://two/","url_resolved":"","codec":"AAC","bitrate":-1},
    {"stationuuid":"","name":"no uuid","url":"http://x/"},
    {"stationuuid":"u1","name":"dup","url":"http://dup/"},
    42])",
                               100);
  REQUIRE(l.has_value());
  REQUIRE(l.value().stations.size() == 2);
  CHECK(l.value().stations[0].url == "http://one/live");
  CHECK(l.value().stations[0].uuid == "u1");
  CHECK(l.value().stations[0].country == "DE");
  CHECK(l.value().stations[1].url == "http://two/");
  CHECK(l.value().stations[1].name == "Two");
  CHECK(l.value().stations[1].bitrate_kbps == 0);
  CHECK(l.value().warnings.size() == 2);
  CHECK(parse_radio_browser("{\"a\":1}", 10).error().message() == "expected a JSON array of stations");
  CHECK(parse_radio_browser("[{", 10).error().message().find("malformed JSON") == 0);
  CHECK(parse_radio_browser_click(R"({"ok":true,"url":"http://play/"})") == "http://play/");
  CHECK(parse_radio_browser_click(R"({"ok":false,"message":"no"})").empty());
  CHECK(parse_radio_browser_click("<html>").empty());
}

TEST_CASE("a number beyond double range in a radio-browser answer is that directory's error, not an exception") {
  // nlohmann throws out_of_range (not parse_error) for these.
  for (const char* doc : {R"([{"stationuuid":"u1","url":"http://one/","bitrate":1e400}])", "[5e555]",
                          R"({"x":-1e400})"}) {
    CAPTURE(doc);
    Result<DirectoryListing> l = DirectoryListing{};
    CHECK_NOTHROW(l = parse_radio_browser(doc, 100));
    CHECK_FALSE(l.has_value());  // an error: no stations
    CHECK_NOTHROW(parse_radio_browser_click(doc));
  }
}

TEST_CASE("a remote directory may only list http(s) stations") {
  const char* local[] = {"file:///etc/passwd", "udp://239.1.2.3:5004", "rtp://[ff3e::1]:5004",
                         "test:tone?frequency=440&codec=mp3&bitrate=128", "FILE:///etc/shadow", "http://"};
  for (const char* url : local) {
    CAPTURE(url);
    std::string xml_url = url;  // yp.xml is XML: & as &amp;
    for (auto at = xml_url.find('&'); at != std::string::npos; at = xml_url.find('&', at + 1)) xml_url.insert(at + 1, "amp;");
    auto y = parse_icecast_yp(yp({{"local", xml_url}, {"ok", "http://ok/1"}}), 100);
    REQUIRE(y.value().stations.size() == 1);
    CHECK(y.value().stations[0].url == "http://ok/1");
    CHECK(y.value().warnings.back() == "1 entries with a URL other than http(s) ignored");
    auto r = parse_radio_browser(std::string(R"([{"stationuuid":"u1","url":")") + url +
                                     R"("},{"stationuuid":"u2","url":"https://ok/2"}])",
                                 100);
    REQUIRE(r.value().stations.size() == 1);
    CHECK(r.value().stations[0].url == "https://ok/2");
    auto t = parse_tunein_opml(std::string(R"(<opml><body><outline type="audio" text="x" URL=")") + xml_url +
                                   R"(" guide_id="s1"/><outline type="audio" text="y" URL="HTTP://ok/3" guide_id="s2"/>)"
                                   "</body></opml>",
                               100);
    REQUIRE(t.value().stations.size() == 1);
    CHECK(t.value().stations[0].key == "s2");
    CHECK(parse_radio_browser_click(std::string(R"({"ok":true,"url":")") + url + "\"}").empty());
    // Only local ones: none usable.
    CHECK_FALSE(parse_icecast_yp(yp({{"local", xml_url}}), 100).has_value());
  }
}

TEST_CASE("a station without a name is named by its URL or key, cleaned of control characters") {
  auto y = parse_icecast_yp("<directory><entry><listen_url>http://evil/\n&lt;3&gt;forged</listen_url></entry></directory>", 10);
  REQUIRE(y.value().stations.size() == 1);
  CHECK(y.value().stations[0].name == "http://evil/ <3>forged");
  auto r = parse_radio_browser(R"([{"stationuuid":"u1","url":"http://evil/\r\nforged"}])", 10);
  REQUIRE(r.value().stations.size() == 1);
  CHECK(r.value().stations[0].name.find_first_of("\r\n") == std::string::npos);
  // DEL too (found by fuzz_directory).
  auto d = parse_radio_browser("[{\"stationuuid\":\"u1\",\"url\":\"http://a/\",\"name\":\"a\u007fb\",\"tags\":\"ja\u007fzz\"}]", 10);
  REQUIRE(d.value().stations.size() == 1);
  CHECK(d.value().stations[0].name == "a b");
  CHECK(d.value().stations[0].genre == "ja zz");
  auto t = parse_tunein_opml("<opml><body><outline type=\"audio\" URL=\"http://a/\" guide_id=\"s1&#10;forged\"/></body></opml>", 10);
  REQUIRE(t.value().stations.size() == 1);
  CHECK(t.value().stations[0].name == "s1 forged");
}

TEST_CASE("TuneIn OPML: audio outlines at any depth, status faults") {
  auto l = parse_tunein_opml(R"(<?xml version="1.0" encoding="UTF-8"?><opml version="1">
<head><title>Jazz</title><status>200</status></head><body>
<outline text="Stations" key="stations">
  <outline type="audio" text="Jazz FM" URL="http://opml.radiotime.com/Tune.ashx?id=s123" bitrate="128"
           guide_id="s123" subtext="Miles Davis" formats="mp3"/>
  <outline type="link" text="More" URL="http://opml.radiotime.com/Browse.ashx?offset=26"/>
</outline>
<outline type="audio" text="Other" URL="http://opml.radiotime.com/Tune.ashx?id=s9" guide_id="s9"/>
</body></opml>)",
                             100);
  REQUIRE(l.has_value());
  REQUIRE(l.value().stations.size() == 2);
  CHECK(l.value().stations[0].key == "s123");
  CHECK(l.value().stations[0].url == "http://opml.radiotime.com/Tune.ashx?id=s123");
  CHECK(l.value().stations[0].now_playing == "Miles Davis");
  CHECK(l.value().stations[0].bitrate_kbps == 128);
  auto fault = parse_tunein_opml("<opml><head><status>400</status><fault>Invalid partner</fault></head><body/></opml>", 10);
  CHECK(fault.error().message() == "TuneIn answered status 400: Invalid partner");
}

TEST_CASE("the test directory works offline with fixed URLs") {
  auto l = test_directory();
  REQUIRE(l.stations.size() >= 3);
  CHECK(l.stations[0].url == "test:tone?frequency=440&codec=mp3&bitrate=128");
  for (const auto& s : l.stations) CHECK(s.url.starts_with("test:"));
}

TEST_CASE("station numbers are assigned on first sight and never reused") {
  TempDir dir;
  std::string file = (dir.path / "d.numbers.json").string();
  {
    StationNumbers n(file, 1000);
    REQUIRE(n.load());
    CHECK(n.assign("a", "A") == 0u);
    CHECK(n.assign("b", "B") == 1u);
    CHECK(n.assign("a", "A") == 0u);
    REQUIRE(n.save());
  }
  StationNumbers again(file, 1000);
  REQUIRE(again.load());
  // A refresh that reorders and adds: old keys keep their numbers.
  CHECK(again.assign("c", "C") == 2u);
  CHECK(again.assign("b", "B") == 1u);
  CHECK(again.assign("a", "A") == 0u);
  CHECK(again.find("zzz") == std::nullopt);
  // A number space of 2 holds a and b (saved above); c does not fit.
  StationNumbers full(file, 2);
  REQUIRE(full.load());
  CHECK(full.assign("b", "B") == 1u);
  CHECK(full.assign("c", "C") == std::nullopt);
}

TEST_CASE("a corrupt numbering file is refused, not silently renumbered") {
  TempDir dir;
  std::string file = (dir.path / "bad.json").string();
  std::ofstream(file) << R"({"format":1,"next":1,"stations":[{"number":5,"key":"a"}]})";
  StationNumbers n(file, 100);
  auto loaded = n.load();
  REQUIRE(!loaded);
  CHECK(loaded.error().message().find("inconsistent") != std::string::npos);
  std::ofstream(file, std::ios::trunc) << "not json";
  loaded = n.load();
  REQUIRE(!loaded);
  CHECK(loaded.error().message().find("stations would be renumbered") != std::string::npos);
}

TEST_CASE("catalogue configuration: directories, DVB carriers, address plan") {
  auto r = app::parse_config(R"(
[address_plan]
ipv6_prefix = "2001:db8:d0be:f00d::/64"
ipv4_block = "239.255.0.0/16"

[http]
user_agent = "test/1"
stall_timeout = "5s"

[[directory]]
name = "xiph"
type = "icecast"
slot = 0
url = "http://dir.xiph.org/yp.xml"
refresh = "1h"

[[directory]]
name = "rb"
type = "radio-browser"
slot = 1
servers = ["https://de1.api.radio-browser.info"]
tag = "jazz"
country = "DE"

[[directory]]
name = "mine"
type = "static"
slot = 2
[[directory.station]]
name = "One"
url = "http://one/"

[dvb]
adapters = [0, "1:1"]
[[dvb.carrier]]
name = "DAB"
dvblast = "dvblast -f 11426500 -v 18 -5 DVBS -s 27500000 -F 23"
services = [{ id = 0xf00d, name = "X" }]
[[dvb.carrier]]
frequency_khz = 12441000
polarisation = "v"
symbol_rate = 29500000
delivery = "DVBS2"
fec = "89"
)", "c.toml");
  for (const auto& e : r.errors) MESSAGE(e.to_string());
  REQUIRE(r.ok());
  const auto& c = r.config.media.catalogue;
  CHECK(c.http.user_agent == "test/1");
  REQUIRE(c.directories.size() == 3);
  CHECK(c.directories[1].kind == catalogue::DirectorySection::Kind::radio_browser);
  CHECK(c.directories[2].stations[0].id == "http://one/");
  REQUIRE(c.dvb.tuner.adapters.size() == 2);
  CHECK(c.dvb.tuner.adapters[1].frontend == 1);
  REQUIRE(c.dvb.carriers.size() == 2);
  CHECK(c.dvb.carriers[0].services[0].id == 0xf00d);
  CHECK(c.dvb.carriers[1].modulation == "qpsk");
}

TEST_CASE("DVB tuning values in TOML are checked like those of a dvblast line") {
  auto carrier = [](const char* tuning) {
    return app::parse_config(std::string("[[dvb.carrier]]\nfrequency_khz = 11426500\npolarisation = \"h\"\n"
                                    "symbol_rate = 27500000\ndelivery = \"DVBS2\"\n") + tuning,
                        "dvb.toml");
  };
  auto r = carrier("modulation = \"qam_1024\"\nfec = \"1/2\"\nrolloff = \"40\"\npilot = \"on\"\n");
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  CAPTURE(all);
  CHECK(all.find("dvb.carrier[0].modulation: \"qam_1024\" must be qpsk, psk_8, apsk_16 or apsk_32") != std::string::npos);
  CHECK(all.find("dvb.carrier[0].fec: \"1/2\" is not a FEC dvblast knows") != std::string::npos);
  CHECK(all.find("dvb.carrier[0].rolloff: \"40\" must be 35, 25, 20 or 0") != std::string::npos);
  CHECK(all.find("dvb.carrier[0].pilot: \"on\" must be -1, 0 or 1") != std::string::npos);
  auto good = carrier("modulation = \"PSK_8\"\nfec = \"23\"\nrolloff = \"35\"\npilot = \"-1\"\n");
  CHECK(good.ok());
  REQUIRE(good.config.media.catalogue.dvb.carriers.size() == 1);
  CHECK(good.config.media.catalogue.dvb.carriers[0].modulation == "psk_8");
  auto refused = joincast::media::parse_dvblast_command("dvblast -f 11426500 -v 18 -s 27500000 -R 40");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message() == "-R 40 must be 35, 25, 20 or 0");
}

TEST_CASE("catalogue configuration errors name the key") {
  auto r = app::parse_config(R"(
[[directory]]
name = "a"
type = "icecast"
slot = 0

[[directory]]
name = "a"
type = "webradio"
slot = 0

[[dvb.carrier]]
frequency_khz = 11426600
polarisation = "x"
symbol_rate = 27500000
)", "bad.toml");
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  CHECK(all.find("an icecast directory needs either url or file") != std::string::npos);
  CHECK(all.find("directory[1].name: \"a\" is used twice") != std::string::npos);
  CHECK(all.find("directory[1].type: must be") != std::string::npos);
  CHECK(all.find("slot 0 is used by another directory") != std::string::npos);
  CHECK(all.find("dvb.carrier[0].polarisation: must be h, v, l or r") != std::string::npos);
  CHECK(all.find("not on the grid") != std::string::npos);
}
