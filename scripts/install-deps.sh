#!/usr/bin/env bash
# Installs every Debian package joincast builds, tests, benchmarks or demos
# with. Idempotent: packages already present are not touched and the package
# index is refreshed at most once per run, only when something is missing.
# Nothing is fetched from anywhere but Debian's archive.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
  libclang-rt-14-dev  # libFuzzer and clang's sanitizer runtimes (scripts/fuzz.sh)
  # libraries
  libboost-dev libmnl-dev liburing-dev libssl-dev
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
  nlohmann-json3-dev libtomlplusplus-dev libfmt-dev doctest-dev
  libexpat1-dev  # XML (XSPF playlists, Icecast yp.xml, TuneIn OPML)
  # real peers used by tests and the demo
  iproute2 iputils-ping procps psmisc python3 ffmpeg tshark tcpdump
  smcroute icecast2 dvblast ca-certificates
  # the monitoring daemons [[monitor]] feeds (tests/netns/lan), and nft to
  # prove no firewall rule was needed
  rsyslog snmptrapd snmp chrony nftables
  # the mDNS responders and browsers of the [mdns] tests, each on a private
  # D-Bus (tests/netns/lan/avahi_fixture.py)
  avahi-daemon avahi-utils dbus
  python3-zeroconf  # a second mDNS implementation; its unicast mode asks legacy unicast queries
  ntpsec-ntpdig  # an SNTP client that asks 224.0.1.1, as a switch does
  minidlna gupnp-tools ethtool  # a UPnP media server, an SSDP client (tests/netns/lan)
  miniupnpc  # a second, independent SSDP client: upnpc -l lists what answers its search
  # man pages and completion (tests/docs)
  groff-base man-db bash-completion
  # players the restart and SAP tests run (GStreamer's sdpdemux and rtpbin,
  # VLC's SAP discovery)
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  vlc-bin vlc-plugin-base
  # the Debian package (scripts/package.sh)
  debhelper lintian dpkg-dev fakeroot
  # benchmarks
  hyperfine
  # a kernel with multicast routing for the tests that need one, when the
  # machine's own has none: Debian's kernel under QEMU (scripts/vm.sh)
  qemu-system-x86 busybox-static kmod
)

if [[ $EUID -ne 0 ]]; then
  echo "install-deps.sh: must run as root (it installs Debian packages)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$p")
done

# The VM scripts/vm.sh starts, only where the machine's kernel cannot run
# the multicast routing tests itself: Debian's kernel package, unpacked into
# /var/cache/joincast-vm (not installed); done once.
prepare_vm() {
  if [[ ! -e /proc/net/ip_mr_vif || ! -e /proc/net/ip6_mr_vif ]]; then
    bash "$(dirname "$0")/vm.sh" --prepare \
      || echo "install-deps.sh: no VM for the multicast routing tests; they will be skipped" >&2
  fi
}

if ((${#missing[@]} == 0)); then
  prepare_vm
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer does not matter
# to us, but the question must not block an unattended install.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
prepare_vm
