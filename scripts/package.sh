#!/usr/bin/env bash
# Builds joincast's Debian package with Debian's own tools (dpkg-buildpackage
# -b, debhelper), checks it with lintian at the level Debian requires (no
# errors), installs it on this machine, checks that the unit, the conffile,
# the man pages and the programs are where they belong and work, and purges
# it again. Run by scripts/test.sh; needs root (dpkg -i). The build happens
# in a copy of the committed tree under a temporary directory, so nothing
# is written next to the work tree.
#
#   scripts/package.sh              all of it
#   scripts/package.sh --build DIR  build, lintian and the contents checks,
#                                   leaving the package in DIR (test.sh runs
#                                   this in the background, niced, while
#                                   the tests run)
#   scripts/package.sh --install DIR  install, check, purge what --build left
set -euo pipefail
cd "$(dirname "$0")/.."

phase=all
work=
case "${1:-}" in
  --build|--install) phase=${1#--}; work=${2:?"package.sh: $1 needs a directory"} ;;
  "") ;;
  *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
esac
[[ $phase == install ]] || bash scripts/install-deps.sh

if [[ $phase != build ]] && dpkg-query -W -f='${db:Status-Status}' joincast 2>/dev/null | grep -qx installed; then
  echo "package.sh: a joincast package is already installed; refusing to replace it" >&2
  exit 1
fi

if [[ -z "$work" ]]; then
  work=$(mktemp -d /tmp/joincast-package.XXXXXX)
elif [[ $phase == build ]]; then
  rm -rf "$work"
  mkdir -p "$work"
fi
cleanup() {
  [[ $phase == build ]] && return
  dpkg --purge joincast >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "package.sh: $*" >&2
  exit 1
}

version=$(dpkg-parsechangelog -S Version)
deb="$work/joincast_${version}_$(dpkg --print-architecture).deb"
if [[ $phase != install ]]; then
src="$work/joincast-$version"
mkdir -p "$src"
# The committed tree plus what is not committed yet, without build output.
git ls-files -z --cached --others --exclude-standard | grep -zv '^build' | xargs -0 cp --parents -t "$src"

echo "package.sh: dpkg-buildpackage -b in $src"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
  tail -50 "$work/build.log" >&2
  echo "package.sh: dpkg-buildpackage failed (log above)" >&2
  exit 1
}
ls -l "$deb"

echo "package.sh: lintian"
lintian --fail-on error --suppress-tags-from-file /dev/null --info "$work"/*.changes

contents=$(dpkg-deb -c "$deb")
for f in ./usr/sbin/joincastd ./usr/bin/joincast ./lib/systemd/system/joincastd.service \
         ./etc/joincast/joincast.toml ./usr/share/man/man8/joincastd.8.gz ./usr/share/man/man8/joincast.8.gz \
         ./usr/share/man/man5/joincast.toml.5.gz ./usr/share/bash-completion/completions/joincast \
         ./usr/share/doc/joincast/examples/joincast.toml ./usr/share/doc/joincast/configuration.md; do
  grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done
dpkg-deb -f "$deb" Depends | grep -q libbpf || fail "Depends lacks the shared libraries (shlibs)"
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/joincast/joincast.toml "$work/control/conffiles" || fail "/etc/joincast/joincast.toml is not a conffile"
[[ $phase == build ]] && { echo "package.sh: built and checked ($deb); --install $work installs it"; exit 0; }
fi
[[ -f "$deb" ]] || fail "no package in $work (package.sh --build $work first)"

echo "package.sh: dpkg -i, checks, dpkg --purge"
dpkg -i "$deb" >/dev/null
/usr/sbin/joincastd --check --config /etc/joincast/joincast.toml
/usr/sbin/joincastd --version
joincast --help >/dev/null
man -w joincastd joincast joincast.toml >/dev/null
MANWIDTH=80 man joincast.toml 2>/dev/null | grep -q "monitor" || fail "man joincast.toml does not render"
grep -q "^ExecStart=/usr/sbin/joincastd --config /etc/joincast/joincast.toml" /lib/systemd/system/joincastd.service ||
  fail "the unit does not start /usr/sbin/joincastd"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/joincastd.service 2>&1 | grep -v "^$" || true
fi
dpkg --purge joincast >/dev/null
[[ ! -e /etc/joincast/joincast.toml && ! -e /usr/sbin/joincastd ]] || fail "purge left files behind"
echo "package.sh: ok ($deb, lintian clean of errors, installed and purged)"
