#!/usr/bin/env python3
"""md2man.py — the man pages, from the documents they must agree with.

    md2man.py toml   docs/configuration.md                 > joincast.toml.5
    md2man.py daemon docs/man/joincastd.8.md  JOINCASTD    > joincastd.8
    md2man.py cli    docs/man/joincast.8.md   JOINCAST     > joincast.8

joincast.toml(5) is docs/configuration.md itself, converted; joincastd(8)
and joincast(8) are a short hand-written page each whose @HELP@ and
@COMMANDS@ lines are filled in from the built programs' own --help texts,
so options and commands have one source. The Markdown is the subset the
docs use: headings, paragraphs, bullet lists, tables, fenced code, `code`,
**bold**, *emphasis* and [links](target). Python's standard library only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

VERSION_RE = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


def escape(text: str) -> str:
    """Roff-escapes plain text (backslashes, leading dots and quotes)."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    # Non-ASCII as named Unicode escapes: any troff reads them.
    return "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)


def inline(text: str) -> str:
    """Markdown inline markup to roff font changes."""
    out = []
    pos = 0
    # `code`, **bold**, *emphasis*, [text](link)
    pattern = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)]+)\)")
    for m in pattern.finditer(text):
        out.append(escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + escape(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + inline(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append("\\fI" + inline(m.group(3)) + "\\fR")
        else:
            label, target = m.group(4), m.group(5)
            out.append(inline(label))
            if (target.endswith(".md") or target.endswith(".toml")) and target != label.strip("`"):
                out.append(" (" + escape(target) + ")")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def line_safe(text: str) -> str:
    """A roff text line must not start with a control character."""
    return "\\&" + text if text.startswith((".", "'")) else text


def cells(row: str) -> list[str]:
    row = row.strip().strip("|")
    # A pipe inside `code` does not split the cell.
    parts, cur, in_code = [], "", False
    for ch in row:
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def convert(markdown: str, shift: int = 0) -> str:
    """Markdown body to roff. shift: heading levels to drop (1: '#' is the
    page title and is skipped)."""
    out: list[str] = []
    lines = markdown.splitlines()
    i = 0
    para: list[str] = []

    def flush():
        if para:
            out.append(".PP")
            out.append(line_safe(inline(" ".join(p.strip() for p in para))))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            out.append(".PP")
            out.append(".RS 4")
            out.append(".nf")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_safe(escape(lines[i])))
                i += 1
            out.append(".fi")
            out.append(".RE")
            i += 1
            continue
        m = re.match(r"^(#+)\s+(.*)$", line)
        if m:
            flush()
            level = len(m.group(1)) - shift
            title = m.group(2)
            if level <= 0:
                pass
            elif level == 1:
                out.append(".SH " + '"' + inline(title).replace('"', "") + '"')
            else:
                out.append(".SS " + '"' + inline(title).replace('"', "") + '"')
            i += 1
            continue
        if line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            header, body = rows[0], [r for r in rows[1:] if not all(set(c) <= set("-: ") for c in r)]
            for r in body:
                first = r[0]
                rest = [f"{h}: {c}" if h not in ("meaning", "") and j > 0 else c
                        for j, (h, c) in enumerate(zip(header, r))][1:]
                out.append(".TP")
                out.append(line_safe(inline(first)))
                out.append(line_safe(inline("; ".join(x for x in rest if x))))
            continue
        if re.match(r"^\s*- ", line):
            flush()
            indent = len(line) - len(line.lstrip())
            item = [line.strip()[2:]]
            i += 1
            while i < len(lines) and lines[i].strip() and not re.match(r"^\s*- ", lines[i]) \
                    and not lines[i].startswith(("#", "|", "```")):
                item.append(lines[i].strip())
                i += 1
            out.append(".IP \\(bu 2" if indent == 0 else ".IP \\(bu 4")
            out.append(line_safe(inline(" ".join(item))))
            continue
        if not line.strip():
            flush()
            i += 1
            continue
        para.append(line)
        i += 1
    flush()
    return "\n".join(out) + "\n"


def header(name: str, section: int, version: str, title: str) -> str:
    return (f'.TH "{name.upper()}" "{section}" "" "joincast {version}" "{title}"\n'
            ".\\\" Generated by scripts/md2man.py; edit the Markdown it comes from.\n")


def program_help(binary: str, *args: str) -> str:
    return subprocess.run([binary, *args, "--help"], capture_output=True, text=True, check=False).stdout


def verbatim(text: str) -> str:
    out = [".PP", ".RS 4", ".nf"]
    out += [line_safe(escape(line)) for line in text.rstrip("\n").splitlines()]
    out += [".fi", ".RE"]
    return "\n".join(out) + "\n"


def version_of(binary: str) -> str:
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    m = VERSION_RE.search(r.stdout)
    return m.group(1) if m else "?"


def main(argv: list[str]) -> int:
    kind, source = argv[1], Path(argv[2])
    text = source.read_text()
    if kind == "toml":
        binary = argv[3] if len(argv) > 3 else None
        version = version_of(binary) if binary else "?"
        intro = (".SH NAME\njoincast.toml \\- configuration of joincastd\n"
                 ".SH SYNOPSIS\n\\fB/etc/joincast/joincast.toml\\fR\n.SH DESCRIPTION\n")
        body = convert(text, shift=1)
        sys.stdout.write(header("joincast.toml", 5, version, "File formats") + intro + body +
                         ".SH SEE ALSO\n\\fBjoincastd\\fR(8), \\fBjoincast\\fR(8)\n")
        return 0
    binary = argv[3]
    version = version_of(binary)
    page = convert(text)
    if kind == "daemon":
        page = page.replace("@HELP@\n", verbatim(program_help(binary)))
        sys.stdout.write(header("joincastd", 8, version, "System administration") + page)
        return 0
    if kind == "cli":
        main_help = program_help(binary)
        commands = re.findall(r"^  ([a-z]+)\s{2,}", main_help.split("Commands:", 1)[1].split("Options:", 1)[0],
                              re.M)
        parts = [verbatim(main_help)]
        for c in commands:
            parts.append(f".SS {c}\n" + verbatim(program_help(binary, c)))
        page = page.replace("@COMMANDS@\n", "".join(parts))
        sys.stdout.write(header("joincast", 8, version, "System administration") + page)
        return 0
    print(f"md2man.py: unknown kind {kind}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
