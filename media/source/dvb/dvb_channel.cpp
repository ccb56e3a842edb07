// dvb_channel.cpp — see dvb_channel.hpp.
#include "media/source/dvb/dvb_channel.hpp"

#include "media/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace joincast::media {

namespace {

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) quote = 0;
      else cur += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool number(std::string_view s, std::uint32_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

const char* polarisation_name(Polarisation p) {
  switch (p) {
    case Polarisation::horizontal: return "horizontal";
    case Polarisation::vertical: return "vertical";
    case Polarisation::left: return "left";
    case Polarisation::right: return "right";
  }
  return "?";
}

std::optional<Polarisation> parse_polarisation(std::string_view text) {
  std::string t = ascii_lower(text);
  if (t == "h" || t == "horizontal") return Polarisation::horizontal;
  if (t == "v" || t == "vertical") return Polarisation::vertical;
  if (t == "l" || t == "left") return Polarisation::left;
  if (t == "r" || t == "right") return Polarisation::right;
  return std::nullopt;
}

const char* delivery_system_name(DeliverySystem d) { return d == DeliverySystem::dvbs2 ? "DVBS2" : "DVBS"; }

const DvbService* DvbCarrier::service(std::uint16_t id) const {
  for (const auto& s : services)
    if (s.id == id) return &s;
  return nullptr;
}

std::vector<std::string> DvbCarrier::dvblast_tuning() const {
  std::vector<std::string> a = {"-f", std::to_string(frequency_khz), "-v", polarisation_bit(polarisation) ? "13" : "18",
                                "-s", std::to_string(symbol_rate), "-5", delivery_system_name(delivery)};
  if (!modulation.empty()) a.insert(a.end(), {"-m", modulation});
  if (!fec.empty()) a.insert(a.end(), {"-F", fec});
  if (!rolloff.empty()) a.insert(a.end(), {"-R", rolloff});
  if (!pilot.empty()) a.insert(a.end(), {"-P", pilot});
  return a;
}

std::string DvbCarrier::describe() const {
  std::string d = std::to_string(frequency_khz) + " kHz ";
  d += static_cast<char>(std::toupper(static_cast<unsigned char>(polarisation_name(polarisation)[0])));
  if (!name.empty()) d += " (" + name + ")";
  return d;
}

Result<std::string> check_modulation(std::string_view value) {
  std::string v = ascii_lower(value);
  if (v == "qpsk" || v == "psk_8" || v == "apsk_16" || v == "apsk_32") return v;
  return invalid("must be qpsk, psk_8, apsk_16 or apsk_32");
}

Result<std::string> check_fec(std::string_view value) {
  static const char* ok[] = {"0", "12", "23", "34", "35", "56", "78", "89", "910", "999"};
  if (std::find(std::begin(ok), std::end(ok), value) != std::end(ok)) return std::string(value);
  return invalid("is not a FEC dvblast knows (0, 12, 23, 34, 35, 56, 78, 89, 910 or 999)");
}

Result<std::string> check_rolloff(std::string_view value) {
  if (value == "35" || value == "25" || value == "20" || value == "0") return std::string(value);
  return invalid("must be 35, 25, 20 or 0");
}

Result<std::string> check_pilot(std::string_view value) {
  if (value == "-1" || value == "0" || value == "1") return std::string(value);
  return invalid("must be -1, 0 or 1");
}

Result<DvbCarrier> parse_dvblast_command(std::string_view line) {
  auto fail = [](std::string why) -> Result<DvbCarrier> { return invalid(std::move(why)); };
  // Empty, or why the value is refused.
  auto tuning = [](std::string& field, Result<std::string> (*check)(std::string_view), const char* flag,
                   const std::string& value) -> std::string {
    auto v = check(value);
    if (!v) return std::string(flag) + " " + value + " " + v.error().message();
    field = v.value();
    return {};
  };
  auto words = split_words(line);
  std::size_t i = 0;
  if (i < words.size() && (words[i] == "dvblast" || words[i].ends_with("/dvblast"))) ++i;
  DvbCarrier c;
  bool have_f = false, have_v = false, have_s = false, have_5 = false;
  for (; i < words.size(); ++i) {
    std::string opt = words[i];
    std::string value;
    if (auto eq = opt.find('='); opt.starts_with("--") && eq != std::string::npos) {
      value = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
    } else {
      if (i + 1 >= words.size()) return fail("option " + opt + " needs a value");
      value = words[++i];
    }
    if (opt == "-f" || opt == "--frequency") {
      if (!number(value, c.frequency_khz) || c.frequency_khz == 0) return fail("-f " + value + " is not a frequency in kHz");
      // dvblast takes kHz for satellite; a value in Hz is a mistake here.
      if (c.frequency_khz > 100'000'000) return fail("-f " + value + " looks like Hz; satellite frequencies are kHz");
      have_f = true;
    } else if (opt == "-v" || opt == "--voltage") {
      if (value == "13") c.polarisation = Polarisation::vertical;
      else if (value == "18") c.polarisation = Polarisation::horizontal;
      else return fail("-v " + value + " must be 13 (vertical) or 18 (horizontal)");
      have_v = true;
    } else if (opt == "-s" || opt == "--symbol-rate") {
      if (!number(value, c.symbol_rate) || c.symbol_rate < 1000) return fail("-s " + value + " is not a symbol rate in symbols/s");
      have_s = true;
    } else if (opt == "-5" || opt == "--delsys") {
      std::string v = ascii_lower(value);
      if (v == "dvbs") c.delivery = DeliverySystem::dvbs;
      else if (v == "dvbs2") c.delivery = DeliverySystem::dvbs2;
      else return fail("-5 " + value + ": only DVBS and DVBS2 are satellite delivery systems");
      have_5 = true;
    } else if (opt == "-m" || opt == "--modulation") {
      if (auto why = tuning(c.modulation, check_modulation, "-m", value); !why.empty()) return fail(why);
    } else if (opt == "-F" || opt == "--fec-inner") {
      if (auto why = tuning(c.fec, check_fec, "-F", value); !why.empty()) return fail(why);
    } else if (opt == "-R" || opt == "--rolloff") {
      if (auto why = tuning(c.rolloff, check_rolloff, "-R", value); !why.empty()) return fail(why);
    } else if (opt == "-P" || opt == "--pilot") {
      if (auto why = tuning(c.pilot, check_pilot, "-P", value); !why.empty()) return fail(why);
    } else {
      return fail("option " + opt + " is not a tuning option (joincast sets adapters and outputs itself)");
    }
  }
  if (!have_f) return fail("-f (frequency) is missing");
  if (!have_s) return fail("-s (symbol rate) is missing");
  if (!have_v) return fail("-v (polarisation voltage 13/18) is missing");
  if (!have_5) c.delivery = c.modulation.empty() ? DeliverySystem::dvbs : DeliverySystem::dvbs2;
  if (c.delivery == DeliverySystem::dvbs2 && c.modulation.empty()) c.modulation = "qpsk";
  return c;
}

}  // namespace joincast::media
