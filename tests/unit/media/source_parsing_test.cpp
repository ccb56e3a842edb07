// source_parsing_test.cpp — the pure parts of media/source: URLs and
// reference resolution, the ICY de-interleaver and metadata text, playlist
// formats, content sniffing, the XML reader's defences, and the dvblast
// command-line import.
#include "media/source/dvb/dvb_channel.hpp"
#include "media/source/http/http_error.hpp"
#include "media/source/http/http_url.hpp"
#include "media/source/http/icy_metadata.hpp"
#include "media/source/http/playlist_parser.hpp"
#include "media/source/http/playlist_xml.hpp"
#include "media/source/http/sniff.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace joincast::media;

namespace {
std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span<const char>(s.data(), s.size())); }
}  // namespace

TEST_CASE("URLs parse into scheme, host, port and target") {
  auto u = Url::parse("HTTP://Radio.Example:8000/live?x=1#frag").value();
  CHECK(u.scheme == "http");
  CHECK(u.host == "radio.example");
  CHECK(u.port == 8000);
  CHECK(u.target == "/live?x=1");
  CHECK(u.to_string() == "http://radio.example:8000/live?x=1");
  auto v6 = Url::parse("https://[2001:db8::1]/s").value();
  CHECK(v6.host == "2001:db8::1");
  CHECK(v6.port == 443);
  CHECK(v6.authority() == "[2001:db8::1]");
  CHECK(Url::parse("icy://old.example:8080").value().to_string() == "http://old.example:8080/");
  CHECK(Url::parse("http://a b/").error() == SourceErrc::bad_url);
  CHECK(Url::parse("ftp://x/").error() == SourceErrc::unsupported_scheme);
  CHECK(Url::parse("http://user:pw@x/").error() == SourceErrc::bad_url);
  CHECK(Url::parse("http://x:99999/").error() == SourceErrc::bad_url);
  CHECK(Url::parse("mms://x/").error() == SourceErrc::unsupported_scheme);
  // Spaces and non-ASCII in playlist URLs are percent-encoded, not refused.
  CHECK(Url::parse("http://x/a b/\xc3\xa9").value().target == "/a%20b/%C3%A9");
}

TEST_CASE("references resolve per RFC 3986 section 5") {
  auto base = Url::parse("http://a/b/c/d;p?q").value();
  auto r = [&](const char* ref) { return base.resolve(ref).value().to_string(); };
  CHECK(r("g") == "http://a/b/c/g");
  CHECK(r("./g") == "http://a/b/c/g");
  CHECK(r("g/") == "http://a/b/c/g/");
  CHECK(r("/g") == "http://a/g");
  CHECK(r("//g") == "http://g/");
  CHECK(r("?y") == "http://a/b/c/d;p?y");
  CHECK(r("g?y") == "http://a/b/c/g?y");
  CHECK(r("..") == "http://a/b/");
  CHECK(r("../g") == "http://a/b/g");
  CHECK(r("../../g") == "http://a/g");
  CHECK(r("../../../g") == "http://a/g");
  CHECK(r("https://other:444/x") == "https://other:444/x");
  CHECK(remove_dot_segments("/a/b/c/./../../g") == "/a/g");
}

TEST_CASE("ICY metadata is stripped at every metaint boundary") {
  // 4 audio bytes, a 16-byte block, 4 audio, an empty block, 2 audio.
  std::string block = "StreamTitle='A';";
  std::string stream = "abcd" + std::string(1, '\1') + block + "efgh" + std::string(1, '\0') + "ij";
  for (std::size_t split = 1; split <= stream.size(); ++split) {
    IcyDemuxer d(4);
    std::string audio;
    std::vector<std::string> titles;
    for (std::size_t i = 0; i < stream.size(); i += split) {
      auto ec = d.feed(bytes(std::string_view(stream).substr(i, split)),
                       [&](std::span<const std::byte> a) { audio.append(reinterpret_cast<const char*>(a.data()), a.size()); },
                       [&](const IcyBlock& b) { titles.push_back(*b.title); });
      REQUIRE(!ec);
    }
    CHECK(audio == "abcdefghij");
    CHECK(titles == std::vector<std::string>{"A"});
    CHECK(d.audio_bytes() == 10);
  }
}

TEST_CASE("ICY titles: unescaped quotes, StreamUrl, UTF-8 and Latin-1") {
  auto b = parse_icy_block(std::string("StreamTitle='Rock 'n' Roll';StreamUrl='http://x/';\0\0\0", 53)).value();
  CHECK(*b.title == "Rock 'n' Roll");
  CHECK(*b.url == "http://x/");
  CHECK(*parse_icy_block("StreamTitle='Caf\xe9';").value().title == "Caf\xc3\xa9");
  CHECK(*parse_icy_block("StreamTitle='Caf\xc3\xa9';").value().title == "Caf\xc3\xa9");
  CHECK(*parse_icy_block("StreamTitle='';").value().title == "");
  CHECK(*parse_icy_block("StreamTitle='no terminator").value().title == "no terminator");
  CHECK(!parse_icy_block("StreamUrl='u';").value().title);
  CHECK(parse_icy_block("\xff\xfb\x90\x64\x01\x02garbage").error() == SourceErrc::icy_metadata_corrupt);
  CHECK(parse_icy_block("just some text").error() == SourceErrc::icy_metadata_corrupt);
  CHECK(parse_icy_block("Stream Title='x';").error() == SourceErrc::icy_metadata_corrupt);
  CHECK(icy_text_to_utf8("\xe9t\xe9") == "\xc3\xa9t\xc3\xa9");
  auto m = icy_header_metadata(" Radio X ", "Jazz", "http://x/", "128,128");
  CHECK(m.station_name == "Radio X");
  CHECK(m.bitrate_kbps == 128u);
  CHECK(!icy_header_metadata("", "", "", "lots").bitrate_kbps);
}

TEST_CASE("a block of audio read as metadata stops the demuxer") {
  IcyDemuxer d(2);
  std::string stream = std::string("ab") + '\1' + std::string("\xff\xfb\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e", 16);
  auto ec = d.feed(bytes(stream), [](auto) {}, [](auto&) {});
  CHECK(ec == SourceErrc::icy_metadata_corrupt);
  CHECK(d.feed(bytes("xx"), [](auto) {}, [](auto&) {}) == SourceErrc::icy_metadata_corrupt);
}

TEST_CASE("PLS entries follow their numbers, not line order") {
  auto p = parse_playlist(PlaylistFormat::pls,
                          "[playlist]\r\nFile2=http://b/\r\nTitle2=B\r\nfile1=http://a/\r\nNumberOfEntries=2\r\nVersion=2\r\n");
  REQUIRE(p.value().size() == 2);
  CHECK(p.value()[0] == PlaylistEntry{"http://a/", ""});
  CHECK(p.value()[1] == PlaylistEntry{"http://b/", "B"});
}

TEST_CASE("M3U with EXTINF titles, comments and a BOM") {
  auto p = parse_playlist(PlaylistFormat::m3u, "\xEF\xBB\xBF#EXTM3U\n#EXTINF:-1,One\nhttp://a/\n\n# note\nrel/b.mp3\n");
  REQUIRE(p.value().size() == 2);
  CHECK(p.value()[0] == PlaylistEntry{"http://a/", "One"});
  CHECK(p.value()[1].location == "rel/b.mp3");
  CHECK(!looks_like_hls("#EXTM3U\n#EXTINF:-1,One\nhttp://a/\n"));
  CHECK(looks_like_hls("#EXTM3U\n#EXT-X-TARGETDURATION:10\nseg.ts\n"));
  CHECK(looks_like_hls("#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nlow.m3u8\r\n"));
}

TEST_CASE("binary data served as a playlist is refused, not requested line by line") {
  std::string garbage;
  for (int i = 0; i < 2000; ++i) garbage += static_cast<char>((i * 73 + 5) % 256);
  for (auto format : {PlaylistFormat::m3u, PlaylistFormat::pls, PlaylistFormat::asx, PlaylistFormat::xspf}) {
    auto p = parse_playlist(format, garbage);
    CHECK_FALSE(p.has_value());  // an error: no entries
    CHECK(p.error().message() == "binary data, not a text playlist");
  }
  // Text with tabs, CR LF and UTF-8 is text.
  auto ok = parse_playlist(PlaylistFormat::m3u, "#EXTM3U\r\n#EXTINF:-1,\tCaf\xc3\xa9\r\nhttp://a/1\r\n");
  REQUIRE(ok.has_value());
  CHECK(ok.value().size() == 1);
}

TEST_CASE("XSPF tracks with several locations") {
  auto p = parse_playlist(PlaylistFormat::xspf,
                          R"(<?xml version="1.0"?><playlist version="1" xmlns="http://xspf.org/ns/0/"><trackList>
<track><title>T</title><location>http://a/</location><location>http://b/</location></track>
<track><location> http://c/ </location></track></trackList></playlist>)");
  REQUIRE(p.has_value());
  REQUIRE(p.value().size() == 3);
  CHECK(p.value()[0] == PlaylistEntry{"http://a/", "T"});
  CHECK(p.value()[2].location == "http://c/");
  CHECK(!parse_playlist(PlaylistFormat::xspf, "<playlist><trackList>").error().message().empty());
}

TEST_CASE("ASX is scanned leniently: case, bare ampersands, entities, INI form") {
  auto p = parse_playlist(PlaylistFormat::asx,
                          R"(<ASX version="3.0"><Entry><REF HREF="http://a/x?a=1&b=2" /></Entry>
<entry><ref href='http://b/y?c=1&amp;d=2'/></entry><ENTRYREF href="http://c/more.asx"/></ASX>)");
  REQUIRE(p.value().size() == 3);
  CHECK(p.value()[0].location == "http://a/x?a=1&b=2");
  CHECK(p.value()[1].location == "http://b/y?c=1&d=2");
  CHECK(p.value()[2].location == "http://c/more.asx");
  auto ini = parse_playlist(PlaylistFormat::asx, "[Reference]\r\nRef1=http://r/1\r\nRef2=http://r/2\r\n");
  REQUIRE(ini.value().size() == 2);
  CHECK(ini.value()[1].location == "http://r/2");
}

TEST_CASE("playlist entries with an empty location are skipped in every format") {
  struct Case {
    PlaylistFormat format;
    const char* text;
  };
  for (Case c : {Case{PlaylistFormat::asx, R"(<asx><ref href=""/><ref href="  "/><entryref href=''/><ref href="http://a/"/></asx>)"},
                 Case{PlaylistFormat::asx, "[Reference]\r\nRef1=\r\nRef2=  \r\nRef3=http://a/\r\n"},
                 Case{PlaylistFormat::pls, "[playlist]\nFile1=\nFile2=http://a/\nNumberOfEntries=2\n"},
                 Case{PlaylistFormat::m3u, "#EXTM3U\n\n   \nhttp://a/\n"},
                 Case{PlaylistFormat::xspf, R"(<playlist><trackList><track><location></location></track>
<track><location>http://a/</location></track></trackList></playlist>)"}}) {
    CAPTURE(c.text);
    auto p = parse_playlist(c.format, c.text);
    CHECK(p.has_value());
    REQUIRE(p.value().size() == 1);
    CHECK(p.value()[0].location == "http://a/");
  }
}

TEST_CASE("a MIME type's essence ends at a parameter or a space") {
  CHECK(mime_essence(" Audio/MPEG ; charset=x") == "audio/mpeg");
  CHECK(mime_essence("video/x-sx version=3>") == "video/x-sx");  // found by fuzz_sniff
  CHECK(mime_essence("audio/aacp\tjunk") == "audio/aacp");
  CHECK(mime_essence("") == "");
  CHECK(classify_content_type("audio/x-scpls version=2").kind == ContentKind::playlist);
}

TEST_CASE("declared content types decide, undecided bytes are sniffed") {
  CHECK(classify_content_type("audio/mpeg").kind == ContentKind::media);
  CHECK(classify_content_type("Audio/AACP; charset=x").kind == ContentKind::media);
  CHECK(classify_content_type("application/ogg").kind == ContentKind::media);
  CHECK(classify_content_type("audio/x-scpls") == ContentClass{ContentKind::playlist, PlaylistFormat::pls});
  CHECK(classify_content_type("application/vnd.apple.mpegurl") == ContentClass{ContentKind::playlist, PlaylistFormat::m3u});
  CHECK(classify_content_type("application/xspf+xml") == ContentClass{ContentKind::playlist, PlaylistFormat::xspf});
  CHECK(classify_content_type("video/x-ms-asf") == ContentClass{ContentKind::playlist, PlaylistFormat::asx});
  CHECK(classify_content_type("text/html; charset=utf-8").kind == ContentKind::html);
  CHECK(classify_content_type("application/octet-stream").kind == ContentKind::unknown);
  CHECK(classify_content_type("").kind == ContentKind::unknown);

  CHECK(sniff_content(bytes("ID3\x04")).kind == ContentKind::media);
  CHECK(sniff_content(bytes("\xff\xfb\x90\x64")).kind == ContentKind::media);
  CHECK(sniff_content(bytes("OggS\0")).kind == ContentKind::media);
  std::string ts(376 + 1, '\0');
  ts[0] = ts[188] = ts[376] = 0x47;
  CHECK(sniff_content(bytes(ts)).kind == ContentKind::media);
  CHECK(sniff_content(bytes("\n[Playlist]\nFile1=x")) == ContentClass{ContentKind::playlist, PlaylistFormat::pls});
  CHECK(sniff_content(bytes("#EXTM3U\n#EXT-X-VERSION:3\n")).kind == ContentKind::hls);
  CHECK(sniff_content(bytes("#EXTM3U\nhttp://a/\n")) == ContentClass{ContentKind::playlist, PlaylistFormat::m3u});
  CHECK(sniff_content(bytes("http://a/\nhttp://b/\n")) == ContentClass{ContentKind::playlist, PlaylistFormat::m3u});
  CHECK(sniff_content(bytes("<?xml version='1.0'?><playlist>")) == ContentClass{ContentKind::playlist, PlaylistFormat::xspf});
  CHECK(sniff_content(bytes("<asx version=3>")) == ContentClass{ContentKind::playlist, PlaylistFormat::asx});
  CHECK(sniff_content(bytes("  <!DOCTYPE html><html>")).kind == ContentKind::html);
  CHECK(sniff_content(bytes("hello world")).kind == ContentKind::text);
  CHECK(sniff_content(bytes(std::string_view("\x01\x02\x03\x04", 4))).kind == ContentKind::media);
}

TEST_CASE("the XML reader refuses entity expansion and absurd nesting") {
  const char* laughs = R"(<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>)";
  auto doc = parse_xml(laughs);
  CHECK(!doc.has_value());
  CHECK(doc.error().message().find("entity declarations are not accepted") != std::string::npos);
  auto ext = parse_xml(R"(<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>)");
  CHECK(!ext.has_value());
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  for (int i = 0; i < 100; ++i) deep += "</a>";
  CHECK(parse_xml(deep).error().message().find("nested too deeply") != std::string::npos);
  auto ok = parse_xml("<r a='1'><c>x</c><c>y</c></r>");
  REQUIRE(ok.has_value());
  CHECK(ok.value().root->attribute("A") == "1");
  CHECK(ok.value().root->child_text("c") == "x");
  CHECK(parse_xml("<r><unclosed></r>").error().message().find("line 1") != std::string::npos);
}

TEST_CASE("dvblast command lines import as carriers") {
  auto c = parse_dvblast_command("dvblast -f 11426500 -v 18 -5 DVBS -s 27500000 -F 23").value();
  CHECK(c.frequency_khz == 11426500);
  CHECK(c.polarisation == Polarisation::horizontal);
  CHECK(c.symbol_rate == 27500000);
  CHECK(c.delivery == DeliverySystem::dvbs);
  CHECK(c.fec == "23");
  CHECK(c.dvblast_tuning() == std::vector<std::string>{"-f", "11426500", "-v", "18", "-s", "27500000", "-5", "DVBS", "-F", "23"});
  auto s2 = parse_dvblast_command("-f 12441000 -v 13 -5 DVBS2 -s 29500000 -F 89 -m QPSK").value();
  CHECK(s2.polarisation == Polarisation::vertical);
  CHECK(s2.delivery == DeliverySystem::dvbs2);
  CHECK(s2.modulation == "qpsk");
  CHECK(s2.fec == "89");
  CHECK(s2.describe() == "12441000 kHz V");
  auto err = [](std::string_view line) {
    auto r = parse_dvblast_command(line);
    REQUIRE_FALSE(r);
    return r.error().message();
  };
  CHECK(err("dvblast -f 11426500 -v 18 -s 27500000 -c my.conf").find("-c") != std::string::npos);
  CHECK(err("dvblast -f 11426500 -v 14 -s 27500000").find("-v 14") != std::string::npos);
  CHECK(err("dvblast -v 18 -s 27500000") == "-f (frequency) is missing");
  CHECK(err("dvblast -f 11426500000 -v 18 -s 27500000").find("Hz") != std::string::npos);
}
