// catalogue_config.hpp — the configuration of what groups stand for:
// [address_plan] (the bit layout of DESIGN.md), [http] (the client that
// plays internet stations and reads directories), [[directory]] (station
// directories, one per slot) and [dvb] (adapters and the channel table).
// docs/configuration.md documents every key.
#pragma once

#include "daemon/catalogue/address_plan.hpp"
#include "daemon/core/config_reader.hpp"
#include "media/source/dvb/dvb_channel.hpp"
#include "media/source/dvb/dvb_tuner.hpp"
#include "media/source/http/http_client.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace joincast::daemon::catalogue {

struct StaticStation {
  std::string id;  // numbering key; defaults to the URL
  std::string name;
  std::string url;
  std::string genre;
};

struct DirectorySection {
  enum class Kind { icecast, radio_browser, tunein, static_list, test };
  std::string name;  // [a-z0-9_-]+, names the state files
  Kind kind = Kind::static_list;
  unsigned slot = 0;
  std::string url;   // icecast: yp.xml URL
  std::string file;  // icecast: a local yp.xml
  std::chrono::milliseconds refresh{6 * 3600 * 1000};
  std::size_t max_bytes = 32 * 1024 * 1024;
  std::size_t max_stations = 100'000;
  // radio-browser
  std::vector<std::string> servers = {"https://all.api.radio-browser.info"};
  std::string tag, country, codec, language;
  std::string order = "clickcount";
  unsigned limit = 1000;
  // tunein
  std::string base_url = "https://opml.radiotime.com";
  std::string browse;  // Browse.ashx query, e.g. "c=music"
  std::string search;  // Search.ashx?query=
  // static
  std::vector<StaticStation> stations;
};
const char* directory_kind_name(DirectorySection::Kind kind);

struct DvbSection {
  media::DvbTunerOptions tuner;
  std::uint16_t port = 5004;
  unsigned ttl = 0;
  std::vector<media::DvbCarrier> carriers;
};

struct CatalogueConfig {
  AddressLayout address_plan;
  media::HttpOptions http;
  std::vector<DirectorySection> directories;
  DvbSection dvb;
};

void parse_catalogue(core::ConfigReader& reader, const toml::table& root, CatalogueConfig& out);

}  // namespace joincast::daemon::catalogue
