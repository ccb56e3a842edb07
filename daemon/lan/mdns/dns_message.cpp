// dns_message.cpp — see dns_message.hpp.
#include "daemon/lan/mdns/dns_message.hpp"

#include <fmt/format.h>

#include <map>

namespace joincast::daemon::lan::mdns {

namespace {

Error malformed(std::string message) { return {std::errc::bad_message, std::move(message)}; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A cursor over the message; every read is bounds-checked and says what it
// was reading when the bytes ran out.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t offset() const { return pos_; }
  std::size_t size() const { return bytes_.size(); }
  std::size_t left() const { return bytes_.size() - pos_; }

  Result<std::uint16_t> u16(std::string_view what) {
    if (left() < 2) return truncated(what, 2);
    std::uint16_t v = static_cast<std::uint16_t>(bytes_[pos_] << 8 | bytes_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<std::uint32_t> u32(std::string_view what) {
    if (left() < 4) return truncated(what, 4);
    std::uint32_t v = static_cast<std::uint32_t>(bytes_[pos_]) << 24 | static_cast<std::uint32_t>(bytes_[pos_ + 1]) << 16 |
                      static_cast<std::uint32_t>(bytes_[pos_ + 2]) << 8 | bytes_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  Result<std::span<const std::uint8_t>> take(std::size_t n, std::string_view what) {
    if (left() < n) return truncated(what, n);
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  // RFC 1035 §4.1.4. Each pointer must point before the start of the
  // labels it follows (the name's start, then the previous pointer's
  // target): a compressor only points at names written before, and the
  // rule makes every walk shrink, so a loop is reported, not spun in
  // ("\1a" then a pointer back to it points before itself, and still loops).
  Result<Name> name(std::string_view what) {
    Name out;
    const std::size_t start = pos_;
    std::size_t at = pos_;
    std::size_t limit = pos_;
    std::size_t wire = 1;  // the root label
    bool jumped = false;
    for (;;) {
      if (at >= bytes_.size())
        return malformed(fmt::format("{} at offset {}: truncated (the name runs past the end of the {}-byte message)",
                                     what, at, bytes_.size()));
      const std::uint8_t len = bytes_[at];
      if ((len & 0xc0) == 0xc0) {
        if (at + 1 >= bytes_.size())
          return malformed(fmt::format("{} at offset {}: truncated compression pointer", what, at));
        const std::size_t target = static_cast<std::size_t>(len & 0x3f) << 8 | bytes_[at + 1];
        if (target >= bytes_.size())
          return malformed(fmt::format("{} at offset {}: compression pointer to offset {} is out of range ({}-byte message)",
                                       what, at, target, bytes_.size()));
        if (target >= limit)
          return malformed(fmt::format("{} at offset {}: compression loop (pointer to offset {}, not to an earlier name)",
                                       what, at, target));
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = limit = target;
        continue;
      }
      if (len & 0xc0)
        return malformed(fmt::format("{} at offset {}: label length 0x{:02x} is over 63 (and not a compression pointer)",
                                     what, at, len));
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        return out;
      }
      if (at + 1 + len > bytes_.size())
        return malformed(fmt::format("{} at offset {}: truncated label ({} bytes announced, {} left)", what, at, len,
                                     bytes_.size() - at - 1));
      wire += 1u + len;
      if (wire > max_name_length)
        return malformed(fmt::format("{} at offset {}: name longer than {} bytes", what, start, max_name_length));
      out.labels.emplace_back(reinterpret_cast<const char*>(bytes_.data() + at + 1), len);
      at += 1u + len;
    }
  }

 private:
  Error truncated(std::string_view what, std::size_t n) const {
    return malformed(fmt::format("{} at offset {}: truncated ({} bytes needed, {} left)", what, pos_, n, left()));
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

Result<RecordData> parse_rdata(Reader& whole, std::uint16_t type, std::size_t length, const std::string& what) {
  const std::size_t start = whole.offset();
  const std::size_t end = start + length;
  // Names inside rdata may be compressed against the whole message, so the
  // rdata is read with the message's reader, then checked to end exactly
  // where rdlength says.
  auto finish = [&](RecordData d) -> Result<RecordData> {
    if (whole.offset() != end)
      return malformed(fmt::format("{} data at offset {}: {} bytes announced, the {} in it took {}", what, start, length,
                                   type_name(type), whole.offset() - start));
    return d;
  };
  auto in_data = [&](std::size_t n) { return whole.offset() + n <= end; };
  switch (type) {
    case rr::a:
    case rr::aaaa: {
      const std::size_t n = type == rr::a ? 4 : 16;
      if (length != n) return malformed(fmt::format("{} data at offset {}: {} bytes, an {} has {}", what, start, length, type_name(type), n));
      auto b = whole.take(n, what + " address");
      if (!b) return std::move(b).error();
      return RecordData{AddressData{*IpAddress::from_bytes(type == rr::a ? AF_INET : AF_INET6, b.value())}};
    }
    case rr::ptr:
    case rr::cname:
    case rr::ns:
    case rr::dname: {
      auto n = whole.name(what + " target");
      if (!n) return std::move(n).error();
      if (whole.offset() > end) break;
      return finish(NameData{std::move(n).value()});
    }
    case rr::srv: {
      if (length < 7) return malformed(fmt::format("{} data at offset {}: {} bytes, too short for an SRV", what, start, length));
      SrvData s;
      s.priority = whole.u16(what).value();
      s.weight = whole.u16(what).value();
      s.port = whole.u16(what).value();
      auto n = whole.name(what + " target");
      if (!n) return std::move(n).error();
      if (whole.offset() > end) break;
      s.target = std::move(n).value();
      return finish(std::move(s));
    }
    case rr::txt: {
      TxtData t;
      while (whole.offset() < end) {
        auto len = whole.take(1, what + " string");
        if (!len) return std::move(len).error();
        if (!in_data(len.value()[0]))
          return malformed(fmt::format("{} data at offset {}: truncated rdata (a TXT string of {} bytes, {} left)", what,
                                       whole.offset() - 1, len.value()[0], end - whole.offset()));
        auto s = whole.take(len.value()[0], what + " string");
        t.strings.emplace_back(reinterpret_cast<const char*>(s.value().data()), s.value().size());
      }
      return finish(std::move(t));
    }
    case rr::nsec: {
      auto n = whole.name(what + " next name");
      if (!n) return std::move(n).error();
      if (whole.offset() > end) break;
      NsecData d{std::move(n).value(), {}};
      auto rest = whole.take(end - whole.offset(), what);
      d.type_bitmaps.assign(rest.value().begin(), rest.value().end());
      return finish(std::move(d));
    }
    default:
      break;
  }
  if (whole.offset() > end)
    return malformed(fmt::format("{} data at offset {}: truncated rdata ({} bytes announced, the {} in it is longer)", what,
                                 start, length, type_name(type)));
  auto b = whole.take(length, what);
  if (!b) return std::move(b).error();
  return RecordData{OpaqueData{{b.value().begin(), b.value().end()}}};
}

Result<Record> parse_record(Reader& r, const std::string& what) {
  Record rec;
  auto n = r.name(what + " name");
  if (!n) return std::move(n).error();
  rec.name = std::move(n).value();
  auto type = r.u16(what + " type");
  if (!type) return std::move(type).error();
  auto klass = r.u16(what + " class");
  if (!klass) return std::move(klass).error();
  auto ttl = r.u32(what + " TTL");
  if (!ttl) return std::move(ttl).error();
  auto length = r.u16(what + " data length");
  if (!length) return std::move(length).error();
  rec.type = type.value();
  rec.klass = klass.value() & 0x7fff;
  rec.cache_flush = (klass.value() & 0x8000) != 0;
  rec.ttl = ttl.value();
  if (r.left() < length.value())
    return malformed(fmt::format("{} data at offset {}: truncated rdata ({} bytes announced, {} left)", what, r.offset(),
                                 length.value(), r.left()));
  auto d = parse_rdata(r, rec.type, length.value(), what);
  if (!d) return std::move(d).error();
  rec.data = std::move(d).value();
  return rec;
}

// Writes names with compression: every suffix written so far (at an offset
// a pointer can reach) is remembered; exact bytes, so a name keeps the case
// it was sent in.
class Writer {
 public:
  std::vector<std::uint8_t> out;

  void u16(std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }

  Result<void> name(const Name& n) {
    if (n.wire_length() > max_name_length)
      return invalid(fmt::format("name {} is longer than {} bytes", n.to_string(), max_name_length));
    for (std::size_t i = 0; i < n.labels.size(); ++i) {
      if (n.labels[i].empty() || n.labels[i].size() > max_label_length)
        return invalid(fmt::format("name {}: label {} has {} bytes (1 to 63)", n.to_string(), i, n.labels[i].size()));
      std::string key = suffix_key(n, i);
      if (auto it = suffixes_.find(key); it != suffixes_.end()) {
        u16(static_cast<std::uint16_t>(0xc000 | it->second));
        return success();
      }
      if (out.size() < 0x4000) suffixes_.emplace(std::move(key), out.size());
      out.push_back(static_cast<std::uint8_t>(n.labels[i].size()));
      out.insert(out.end(), n.labels[i].begin(), n.labels[i].end());
    }
    out.push_back(0);
    return success();
  }

 private:
  static std::string suffix_key(const Name& n, std::size_t from) {
    std::string k;
    for (std::size_t i = from; i < n.labels.size(); ++i) {
      k.push_back(static_cast<char>(n.labels[i].size()));
      k += n.labels[i];
    }
    return k;
  }
  std::map<std::string, std::size_t> suffixes_;
};

Result<void> write_rdata(Writer& w, const RecordData& data) {
  struct Visit {
    Writer& w;
    Result<void> operator()(const OpaqueData& d) {
      w.bytes(d.bytes);
      return success();
    }
    Result<void> operator()(const NameData& d) { return w.name(d.target); }
    Result<void> operator()(const SrvData& d) {
      w.u16(d.priority);
      w.u16(d.weight);
      w.u16(d.port);
      return w.name(d.target);
    }
    Result<void> operator()(const TxtData& d) {
      for (const auto& s : d.strings) {
        if (s.size() > 255) return invalid(fmt::format("a TXT string of {} bytes (at most 255)", s.size()));
        w.out.push_back(static_cast<std::uint8_t>(s.size()));
        w.out.insert(w.out.end(), s.begin(), s.end());
      }
      return success();
    }
    Result<void> operator()(const AddressData& d) {
      w.bytes(d.address.bytes());
      return success();
    }
    Result<void> operator()(const NsecData& d) {
      if (auto r = w.name(d.next); !r) return r;
      w.bytes(d.type_bitmaps);
      return success();
    }
  };
  return std::visit(Visit{w}, data);
}

}  // namespace

bool label_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool Name::operator==(const Name& other) const {
  if (labels.size() != other.labels.size()) return false;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!label_equal(labels[i], other.labels[i])) return false;
  return true;
}

bool Name::ends_with(const Name& suffix) const {
  if (suffix.labels.size() > labels.size()) return false;
  const std::size_t skip = labels.size() - suffix.labels.size();
  for (std::size_t i = 0; i < suffix.labels.size(); ++i)
    if (!label_equal(labels[skip + i], suffix.labels[i])) return false;
  return true;
}

std::size_t Name::wire_length() const {
  std::size_t n = 1;
  for (const auto& l : labels) n += 1 + l.size();
  return n;
}

std::string Name::to_string() const {
  if (labels.empty()) return ".";
  std::string out;
  for (const auto& l : labels) {
    if (!out.empty()) out.push_back('.');
    for (char c : l) {
      if (c == '.' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
  }
  return out;
}

Result<Name> Name::parse(std::string_view text) {
  Name n;
  if (text == "." || text.empty()) return n;
  if (text.back() == '.' && !(text.size() >= 2 && text[text.size() - 2] == '\\')) text.remove_suffix(1);
  std::string label;
  auto push = [&]() -> Result<void> {
    if (label.empty()) return invalid(fmt::format("name \"{}\" has an empty label", text));
    if (label.size() > max_label_length)
      return invalid(fmt::format("name \"{}\": label \"{}\" has {} bytes (at most 63)", text, label, label.size()));
    n.labels.push_back(std::move(label));
    label.clear();
    return success();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      label.push_back(text[++i]);
    } else if (text[i] == '.') {
      if (auto r = push(); !r) return std::move(r).error();
    } else {
      label.push_back(text[i]);
    }
  }
  if (auto r = push(); !r) return std::move(r).error();
  if (n.wire_length() > max_name_length)
    return invalid(fmt::format("name \"{}\" is longer than {} bytes", text, max_name_length));
  return n;
}

std::string type_name(std::uint16_t type) {
  switch (type) {
    case rr::a: return "A";
    case rr::ns: return "NS";
    case rr::cname: return "CNAME";
    case rr::ptr: return "PTR";
    case rr::txt: return "TXT";
    case rr::aaaa: return "AAAA";
    case rr::srv: return "SRV";
    case rr::dname: return "DNAME";
    case rr::opt: return "OPT";
    case rr::nsec: return "NSEC";
    case rr::any: return "ANY";
    default: return fmt::format("TYPE{}", type);
  }
}

Result<Message> parse_message(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  if (bytes.size() < 12) return malformed(fmt::format("header: truncated ({} bytes, a DNS header has 12)", bytes.size()));
  Message m;
  m.id = r.u16("header").value();
  m.flags = r.u16("header").value();
  const std::uint16_t counts[4] = {r.u16("header").value(), r.u16("header").value(), r.u16("header").value(),
                                   r.u16("header").value()};
  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    const std::string what = fmt::format("question {} of {}", i + 1, counts[0]);
    Question q;
    auto n = r.name(what + " name");
    if (!n) return std::move(n).error();
    q.name = std::move(n).value();
    auto type = r.u16(what + " type");
    if (!type) return std::move(type).error();
    auto klass = r.u16(what + " class");
    if (!klass) return std::move(klass).error();
    q.type = type.value();
    q.klass = klass.value() & 0x7fff;
    q.unicast_response = (klass.value() & 0x8000) != 0;
    m.questions.push_back(std::move(q));
  }
  const char* sections[3] = {"answer", "authority", "additional"};
  std::vector<Record>* lists[3] = {&m.answers, &m.authorities, &m.additionals};
  for (int s = 0; s < 3; ++s)
    for (std::uint16_t i = 0; i < counts[s + 1]; ++i) {
      auto rec = parse_record(r, fmt::format("{} {} of {}", sections[s], i + 1, counts[s + 1]));
      if (!rec) return std::move(rec).error();
      lists[s]->push_back(std::move(rec).value());
    }
  if (r.left() != 0)
    return malformed(fmt::format("{} bytes after the last record at offset {} (the counts say the message ends there)",
                                 r.left(), r.offset()));
  return m;
}

Result<std::vector<std::uint8_t>> write_message(const Message& m) {
  Writer w;
  w.out.reserve(512);
  w.u16(m.id);
  w.u16(m.flags);
  for (std::size_t n : {m.questions.size(), m.answers.size(), m.authorities.size(), m.additionals.size()}) {
    if (n > 0xffff) return invalid(fmt::format("{} entries in one section (at most 65535)", n));
    w.u16(static_cast<std::uint16_t>(n));
  }
  for (const auto& q : m.questions) {
    if (auto r = w.name(q.name); !r) return std::move(r).error();
    w.u16(q.type);
    w.u16(static_cast<std::uint16_t>((q.klass & 0x7fff) | (q.unicast_response ? 0x8000 : 0)));
  }
  for (const auto* list : {&m.answers, &m.authorities, &m.additionals})
    for (const auto& rec : *list) {
      if (auto r = w.name(rec.name); !r) return std::move(r).error();
      w.u16(rec.type);
      w.u16(static_cast<std::uint16_t>((rec.klass & 0x7fff) | (rec.cache_flush ? 0x8000 : 0)));
      w.u32(rec.ttl);
      const std::size_t length_at = w.out.size();
      w.u16(0);
      if (auto r = write_rdata(w, rec.data); !r) return std::move(r).error().context(rec.name.to_string());
      const std::size_t length = w.out.size() - length_at - 2;
      if (length > 0xffff) return invalid(fmt::format("{}: {} bytes of record data (at most 65535)", rec.name.to_string(), length));
      w.out[length_at] = static_cast<std::uint8_t>(length >> 8);
      w.out[length_at + 1] = static_cast<std::uint8_t>(length);
    }
  return std::move(w.out);
}

}  // namespace joincast::daemon::lan::mdns
