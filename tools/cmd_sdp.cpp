// cmd_sdp.cpp — `joincast sdp GROUP`: the session description a stream
// announces, as a listener's SAP client receives it.
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace joincast::tools {

namespace {

int run(Context& ctx) {
  if (ctx.args.size() != 1) throw CliError("usage: joincast sdp GROUP");
  auto answer = call_daemon(ctx, {{"cmd", "sdp"}, {"group", ctx.args[0]}});
  if (ctx.json) {
    print_json(answer);
    return 0;
  }
  std::string sdp = answer["sdp"].get<std::string>();
  // SDP lines end in CRLF on the wire; print them as lines.
  std::string out;
  for (char c : sdp)
    if (c != '\r') out += c;
  fmt::print("{}", out);
  return 0;
}

}  // namespace

const Command sdp_command{"sdp", "print the SDP a running stream announces",
                          R"(Usage: joincast sdp [--json] GROUP

Prints the session description (RFC 8866) joincastd announces by SAP for
GROUP's stream, which a player opens: for example, save it as stream.sdp
and run `ffplay -protocol_whitelist file,udp,rtp stream.sdp`. Fails if no
stream runs for GROUP or it has not found its codec yet.)",
                          run};

}  // namespace joincast::tools
