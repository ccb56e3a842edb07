#!/usr/bin/env bash
# Runs a command on a kernel that has multicast routing, for the tests that
# need one when the machine's own kernel lacks it (some cloud and microVM
# kernels are built without CONFIG_IP_MROUTE and CONFIG_IPV6_MROUTE).
#
#   scripts/vm.sh --prepare        fetch Debian's kernel and build the initramfs
#   scripts/vm.sh --available      exit 0 when a command can be run (KVM, kernel)
#   scripts/vm.sh [--] CMD ARGS…   run CMD in the VM; its exit status is ours
#
# The VM is Debian's own kernel (the linux-image-amd64 package, unpacked
# into /var/cache/joincast-vm, never installed on the machine) under QEMU
# with KVM. Its root file system is the machine's own, read-only over 9p,
# with a tmpfs overlay on top: CMD sees the same files, binaries and build
# tree, and whatever it writes is gone when the VM stops. The VM has no
# network card: its tests make their own namespaces inside it. CMD runs as
# root in the same working directory with the same environment; its output
# is this script's output. The VM is powered off when CMD ends, or killed
# after JOINCAST_VM_TIMEOUT seconds (default 1200).
set -euo pipefail

cache=/var/cache/joincast-vm
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "vm.sh: $*" >&2; exit 2; }

kernel_release() {
  local v
  v=$(ls "$cache"/root/lib/modules 2>/dev/null | sort -V | tail -1)
  [[ -n "$v" ]] || return 1
  echo "$v"
}

prepare() {
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/install-deps.sh installs it)"
  command -v depmod >/dev/null || die "depmod missing (package kmod)"
  [[ -x /bin/busybox ]] || die "/bin/busybox missing (package busybox-static)"
  local release
  if ! release=$(kernel_release) || [[ ! -f "$cache/initrd.cpio.gz" ]]; then
    # The newest Debian kernel package the archive offers, unpacked only.
    local pkg
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [[ -n "$pkg" ]] || die "cannot find Debian's kernel package (apt-cache depends linux-image-amd64)"
    rm -rf "$cache.new"
    mkdir -p "$cache.new/deb"
    (cd "$cache.new/deb" && apt-get download -q "$pkg" >/dev/null 2>&1) \
      || { apt-get update -q >/dev/null && (cd "$cache.new/deb" && apt-get download -q "$pkg" >/dev/null); } \
      || die "cannot download $pkg from Debian's archive"
    dpkg-deb -x "$cache.new"/deb/*.deb "$cache.new/root"
    rm -rf "$cache.new/deb"
    release=$(ls "$cache.new"/root/lib/modules)
    depmod -b "$cache.new/root" "$release"
    build_initrd "$cache.new" "$release"
    rm -rf "$cache"
    mv "$cache.new" "$cache"
  fi
}

# A busybox initramfs that loads the virtio and 9p modules, mounts the
# machine's root read-only with a tmpfs overlay and hands over to
# scripts/vm-init.sh inside it.
build_initrd() {
  local dir=$1 release=$2 staging
  staging=$(mktemp -d)
  mkdir -p "$staging"/{bin,dev,proc,sys,lower,upper,newroot,modules}
  cp /bin/busybox "$staging/bin/busybox"
  for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -d "$dir/root" -S "$release" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' | while read -r ko; do
    cp "$ko" "$staging/modules/"
    basename "$ko" >> "$staging/modules/order"
  done
  cat > "$staging/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod "/modules/$m" || echo "initrd: insmod $m failed"; done < /modules/order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || { echo "initrd: cannot mount the host root"; poweroff -f; }
mount -t tmpfs -o size=75% tmpfs /upper
mkdir -p /upper/data /upper/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work /newroot || { echo "initrd: overlay failed"; poweroff -f; }
mkdir -p /newroot/run/vm-io
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=512000 vmio /newroot/run/vm-io || { echo "initrd: cannot mount vm-io"; poweroff -f; }
release=$(cat /newroot/run/vm-io/release)
mkdir -p "/newroot/lib/modules/$release"
mount --bind "/newroot/var/cache/joincast-vm/root/lib/modules/$release" "/newroot/lib/modules/$release"
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/bash /run/vm-io/init
EOF
  chmod +x "$staging/init"
  (cd "$staging" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$dir/initrd.cpio.gz"
  rm -rf "$staging"
}

available() {
  command -v qemu-system-x86_64 >/dev/null || return 1
  kernel_release >/dev/null && [[ -f "$cache/initrd.cpio.gz" ]]
}

run() {
  available || die "no VM: needs /dev/kvm, qemu-system-x86_64 and scripts/vm.sh --prepare"
  local release rc
  release=$(kernel_release)
  io=$(mktemp -d /tmp/joincast-vm.XXXXXX)
  trap 'rm -rf "$io"' EXIT
  echo "$release" > "$io/release"
  cp "$here/vm-init.sh" "$io/init"
  {
    printf 'cd %q\n' "$PWD"
    # The caller's environment, but for what belongs to this boot.
    while IFS= read -r -d '' kv; do
      case "${kv%%=*}" in
        PWD|OLDPWD|SHLVL|_|HOSTNAME|TERM|SSH_*|XDG_RUNTIME_DIR|DBUS_SESSION_BUS_ADDRESS|INVOCATION_ID|JOURNAL_STREAM) ;;
        *[!A-Za-z0-9_]*) ;;
        *) printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}" ;;
      esac
    done < <(env -0)
    printf 'export JOINCAST_IN_VM=1\n'
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
  } > "$io/command"
  local mem=${JOINCAST_VM_MEMORY:-4096} cpus accel
  cpus=$(nproc)
  accel=(-accel tcg,thread=multi -cpu max)
  # KVM only where the processor says it can virtualize: a machine that is
  # itself a VM may offer /dev/kvm without nested virtualization, and a
  # guest started on it hangs in its first instructions.
  if [[ -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
    accel=(-enable-kvm -cpu "${JOINCAST_VM_CPU:-host,-arch-capabilities}")
  fi
  timeout --kill-after=10 "${JOINCAST_VM_TIMEOUT:-1200}" \
    qemu-system-x86_64 "${accel[@]}" -smp "$cpus" -m "$mem" \
      -nodefaults -no-user-config -display none \
      -kernel "$cache/root/boot/vmlinuz-$release" -initrd "$cache/initrd.cpio.gz" \
      -append "console=ttyS0 ${JOINCAST_VM_APPEND:-quiet loglevel=1} panic=-1 rdinit=/init" \
      -serial stdio -monitor none -no-reboot -nic none \
      -fsdev local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap \
      -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
      -fsdev local,id=vmio,path="$io",security_model=passthrough \
      -device virtio-9p-pci,fsdev=vmio,mount_tag=vmio \
      </dev/null | tr -d '\r' || true
  if [[ -f "$io/rc" ]]; then
    rc=$(cat "$io/rc")
  else
    echo "vm.sh: the command did not finish (VM failed to boot, crashed or timed out)" >&2
    rc=2
  fi
  return "$rc"
}

case "${1:-}" in
  --prepare) prepare ;;
  --available) available ;;
  --) shift; (($#)) || die "no command"; run "$@" ;;
  ""|-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) run "$@" ;;
esac
