// directory_listing.hpp — what every directory kind's parser shares:
// cleaning the names and titles a remote document carries, the checks
// every listing gets (usable URLs, duplicates, the station limit), and the
// guard that turns whatever a parsing library throws into that document's
// error. Internal to catalogue/directories/.
#pragma once

#include "daemon/catalogue/directories/directory_formats.hpp"

#include "media/source/http/http_error.hpp"

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace joincast::daemon::catalogue::directories::listing {

// A leading decimal number ("128", " 64 kbps"), 0 when there is none.
unsigned leading_number(std::string_view s);

// Names and titles from the network, as single clean lines.
std::string clean(std::string_view s);

// Drops stations without a key or URL, stations a remote directory may
// not name, and duplicates, with warnings; a listing left without stations
// is an error. Every caller parses a remote document.
Result<DirectoryListing> finish(DirectoryListing l, std::size_t unusable);

// The error for a document of count entries when max are allowed.
Error too_many(std::size_t count, std::size_t max);

// The document does not parse or is not of its kind.
Error malformed(std::string message);

// Runs one parser over a remote document; whatever its library throws
// (nlohmann's out_of_range for 1e400, bad_alloc, ...) becomes that
// document's error, so the previous good listing stays and no exception
// reaches the fetch's completion handler.
template <class Parse>
Result<DirectoryListing> guarded(const char* format, Parse parse) {
  try {
    return parse();
  } catch (const std::exception& e) {
    return malformed(std::string("unusable ") + format + " document: " + e.what());
  }
}

}  // namespace joincast::daemon::catalogue::directories::listing
