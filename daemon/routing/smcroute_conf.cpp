// smcroute_conf.cpp — see smcroute_conf.hpp.
#include "daemon/routing/smcroute_conf.hpp"

#include <fmt/format.h>
#include <glob.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace joincast::daemon::routing {


namespace {

// Includes nest at most this deep: a file that includes itself fails
// instead of recursing forever.
constexpr int max_include_depth = 8;
// Depth alone does not bound the work: a file included several times by
// each of its includes expands exponentially. Cycles are refused outright
// and the whole expansion is capped.
constexpr std::size_t max_included_files = 256;
constexpr std::size_t max_total_lines = 100000;

std::string normal_path(const std::string& path) { return std::filesystem::path(path).lexically_normal().string(); }

struct Token {
  std::string_view text;
  std::uint32_t column;  // 1-based
};

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i >= line.size()) break;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    Token t{line.substr(start, i - start), static_cast<std::uint32_t>(start + 1)};
    if (t.text.front() == '#') break;  // a comment runs to the end of the line
    tokens.push_back(t);
  }
  return tokens;
}

class Parser {
 public:
  Parser(const SmcrouteSources& sources, SmcrouteResult& result) : sources_(sources), result_(result) {}

  void parse(std::string_view text, const std::string& name, int depth) {
    result_.conf.files.push_back(name);
    stack_.push_back(normal_path(name));
    std::uint32_t number = 0;
    std::size_t pos = 0;
    while (pos <= text.size() && !exhausted_) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      ++number;
      if (++lines_ > max_total_lines) {
        exhausted_ = true;
        error(name, number, 1,
              fmt::format("more than {} lines with all includes expanded; stopped reading", max_total_lines));
        break;
      }
      statement(tokenize(text.substr(pos, end - pos)), name, number, depth);
      if (end == text.size()) break;
      pos = end + 1;
    }
    stack_.pop_back();
  }

 private:
  void error(const std::string& file, std::uint32_t line, std::uint32_t column, std::string message) {
    result_.errors.push_back({{file, line, column}, std::move(message)});
  }

  // Checks an interface name or smcroute wildcard ("eth+").
  bool interface_name(std::string_view name) {
    std::string_view base = name;
    if (!base.empty() && base.back() == '+') base.remove_suffix(1);
    if (name.empty() || name.size() >= 16) return false;
    return std::none_of(base.begin(), base.end(), [](char c) { return c == '/' || c == '+' || c == ':' || c <= ' '; });
  }

  std::optional<IpPrefix> prefix(const Token& t, const std::string& file, std::uint32_t line, const char* what) {
    auto p = IpPrefix::parse(t.text);
    if (!p) {
      error(file, line, t.column, fmt::format("\"{}\" is not a valid {} (ADDRESS or ADDRESS/LEN)", t.text, what));
      return std::nullopt;
    }
    return p;
  }

  void statement(const std::vector<Token>& tokens, const std::string& file, std::uint32_t line, int depth) {
    if (tokens.empty()) return;
    const Token& command = tokens[0];
    SourceLocation where{file, line, command.column};
    if (command.text == "include") {
      if (tokens.size() != 2) {
        error(file, line, command.column, "include needs exactly one path or pattern");
        return;
      }
      include(tokens[1], where, depth);
      return;
    }
    if (command.text == "phyint") {
      phyint(tokens, where);
      return;
    }
    if (command.text == "mroute" || command.text == "mgroup" || command.text == "ssmgroup") {
      route_or_group(tokens, where, command.text == "mroute");
      return;
    }
    error(file, line, command.column,
          fmt::format("unknown directive \"{}\" (expected phyint, mgroup, mroute or include)", command.text));
  }

  void include(const Token& pattern, const SourceLocation& where, int depth) {
    if (depth >= max_include_depth) {
      error(where.file, where.line, pattern.column,
            fmt::format("includes nest deeper than {} levels (does a file include itself?)", max_include_depth));
      return;
    }
    std::string path(pattern.text);
    if (!path.empty() && path.front() != '/') {
      auto dir = std::filesystem::path(where.file).parent_path();
      if (!dir.empty()) path = (dir / path).string();
    }
    std::vector<std::string> matches = sources_.expand(path);
    std::sort(matches.begin(), matches.end());
    // smcrouted accepts a pattern that matches nothing (an empty
    // /etc/smcroute.d/); so do we, but a plain path must exist.
    const bool is_pattern = path.find_first_of("*?[") != std::string::npos;
    if (matches.empty() && !is_pattern) {
      error(where.file, where.line, pattern.column, fmt::format("include \"{}\": no such file", path));
      return;
    }
    for (const auto& m : matches) {
      if (exhausted_) return;
      const std::string normal = normal_path(m);
      if (auto on_stack = std::find(stack_.begin(), stack_.end(), normal); on_stack != stack_.end()) {
        std::string chain;
        for (auto it = on_stack; it != stack_.end(); ++it) chain += *it + " -> ";
        error(where.file, where.line, pattern.column, fmt::format("include cycle: {}{}", chain, normal));
        continue;
      }
      if (++included_ > max_included_files) {
        exhausted_ = true;
        error(where.file, where.line, pattern.column,
              fmt::format("include \"{}\": more than {} files included in all; stopped reading", m,
                          max_included_files));
        return;
      }
      auto text = sources_.read_file(m);
      if (!text) {
        error(where.file, where.line, pattern.column, fmt::format("include \"{}\": cannot be read", m));
        continue;
      }
      parse(text.value(), m, depth + 1);
    }
  }

  void phyint(const std::vector<Token>& tokens, const SourceLocation& where) {
    if (tokens.size() < 2) {
      error(where.file, where.line, where.column, "phyint needs an interface name");
      return;
    }
    SmcrouteConf::Phyint p;
    p.where = where;
    if (!interface_name(tokens[1].text)) {
      error(where.file, where.line, tokens[1].column, fmt::format("\"{}\" is not a valid interface name", tokens[1].text));
      return;
    }
    p.name = std::string(tokens[1].text);
    for (std::size_t i = 2; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      if (t.text == "enable") p.enable = true;
      else if (t.text == "disable") p.enable = false;
      else if (t.text == "mrdisc") {
        p.mrdisc = true;
        result_.conf.warnings.push_back(
            fmt::format("{}: mrdisc (RFC 4286 router discovery) is not supported by joincastd, ignored", where.to_string()));
      } else if (t.text == "ttl-threshold") {
        if (i + 1 >= tokens.size()) {
          error(where.file, where.line, t.column, "ttl-threshold needs a value 1-255");
          return;
        }
        const Token& v = tokens[++i];
        unsigned ttl = 0;
        auto [end, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), ttl);
        if (ec != std::errc() || end != v.text.data() + v.text.size() || ttl < 1 || ttl > 255) {
          error(where.file, where.line, v.column, fmt::format("ttl-threshold \"{}\" is out of range 1-255", v.text));
          return;
        }
        p.ttl_threshold = static_cast<std::uint8_t>(ttl);
      } else {
        error(where.file, where.line, t.column,
              fmt::format("unknown phyint option \"{}\" (expected enable, disable, mrdisc or ttl-threshold)", t.text));
        return;
      }
    }
    result_.conf.phyints.push_back(std::move(p));
  }

  void route_or_group(const std::vector<Token>& tokens, const SourceLocation& where, bool is_route) {
    const char* what = is_route ? "mroute" : "mgroup";
    const Token* from = nullptr;
    const Token* source = nullptr;
    const Token* group = nullptr;
    std::vector<const Token*> to;
    bool have_to = false;
    for (std::size_t i = 1; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      auto value = [&](const Token*& slot) {
        if (i + 1 >= tokens.size()) {
          error(where.file, where.line, t.column, fmt::format("{}: \"{}\" needs a value", what, t.text));
          return false;
        }
        if (slot) {
          error(where.file, where.line, t.column, fmt::format("{}: \"{}\" given twice", what, t.text));
          return false;
        }
        slot = &tokens[++i];
        return true;
      };
      if (t.text == "from") {
        if (!value(from)) return;
      } else if (t.text == "source") {
        if (!value(source)) return;
      } else if (t.text == "group") {
        if (!value(group)) return;
      } else if (t.text == "to" && is_route) {
        have_to = true;
        for (++i; i < tokens.size(); ++i) to.push_back(&tokens[i]);
      } else {
        error(where.file, where.line, t.column,
              fmt::format("{}: unexpected \"{}\" (expected from, source, group{})", what, t.text, is_route ? " or to" : ""));
        return;
      }
    }
    if (!from) {
      error(where.file, where.line, where.column, fmt::format("{} needs \"from IFNAME\"", what));
      return;
    }
    if (!interface_name(from->text)) {
      error(where.file, where.line, from->column, fmt::format("\"{}\" is not a valid interface name", from->text));
      return;
    }
    if (!group) {
      error(where.file, where.line, where.column, fmt::format("{} needs \"group GROUP[/LEN]\"", what));
      return;
    }
    auto g = prefix(*group, where.file, where.line, "multicast group");
    if (!g) return;
    const unsigned min_len = g->family() == AF_INET ? 4 : 8;
    const bool typed_multicast = IpAddress::parse(group->text.substr(0, group->text.find('/')))->is_multicast();
    if (!typed_multicast || g->length() < min_len) {
      error(where.file, where.line, group->column,
            typed_multicast ? fmt::format("{}: a group range must be /{} or longer", group->text, min_len)
                            : fmt::format("{} is not a multicast group", group->text));
      return;
    }
    std::optional<IpPrefix> s;
    if (source) {
      auto sp = prefix(*source, where.file, where.line, "source address");
      if (!sp) return;
      if (sp->family() != g->family()) {
        error(where.file, where.line, source->column,
              fmt::format("source {} and group {} are not of the same address family", source->text, group->text));
        return;
      }
      if (sp->address().is_multicast()) {
        error(where.file, where.line, source->column, fmt::format("source {} is a multicast address", source->text));
        return;
      }
      // smcroute: a source of 0.0.0.0 (or ::) means any source.
      if (!(sp->address().is_unspecified() && (sp->length() == 0 || sp->is_host()))) s = *sp;
    }
    if (is_route) {
      if (have_to && to.empty()) {
        error(where.file, where.line, where.column, "mroute: \"to\" needs at least one interface");
        return;
      }
      if (!have_to)
        result_.conf.warnings.push_back(fmt::format(
            "{}: mroute without \"to\" forwards nothing (smcroute accepts it; name the outputs)", where.to_string()));
      SmcrouteConf::Mroute r;
      r.from = std::string(from->text);
      r.source = s;
      r.group = *g;
      r.where = where;
      for (const Token* t : to) {
        if (!interface_name(t->text)) {
          error(where.file, where.line, t->column, fmt::format("\"{}\" is not a valid interface name", t->text));
          return;
        }
        r.to.emplace_back(t->text);
      }
      result_.conf.mroutes.push_back(std::move(r));
    } else {
      SmcrouteConf::Mgroup m;
      m.from = std::string(from->text);
      m.source = s;
      m.group = *g;
      m.where = where;
      result_.conf.mgroups.push_back(std::move(m));
    }
  }

  const SmcrouteSources& sources_;
  std::vector<std::string> stack_;  // the file being read and those including it, outermost first
  std::size_t included_ = 0;
  std::size_t lines_ = 0;
  bool exhausted_ = false;  // a cap was hit: the rest is not read
  SmcrouteResult& result_;
};

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(last_error(), fmt::format("{}: cannot be read", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> glob_paths(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  return out;
}

}  // namespace

std::string SourceLocation::to_string() const { return fmt::format("{}:{}", file, line); }

SmcrouteResult parse_smcroute_conf(std::string_view text, const std::string& name, const SmcrouteSources& sources) {
  SmcrouteResult result;
  Parser(sources, result).parse(text, name, 0);
  return result;
}

SmcrouteResult read_smcroute_conf(const std::string& path) {
  SmcrouteSources sources{read_whole_file, glob_paths};
  auto text = read_whole_file(path);
  if (!text) {
    SmcrouteResult result;
    result.errors.push_back({{path, 0, 0}, "cannot be read"});
    return result;
  }
  return parse_smcroute_conf(text.value(), path, sources);
}

}  // namespace joincast::daemon::routing
