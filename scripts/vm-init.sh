#!/bin/bash
# PID 1 of the VM scripts/vm.sh starts: the machine's root file system with
# a tmpfs overlay, Debian's kernel. Mounts what a test expects of a booted
# system, runs /run/vm-io/command with its output on the serial console,
# records its exit status in /run/vm-io/rc and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=755 tmpfs /run/lock 2>/dev/null || true
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
# /run is the overlay's: empty it of the machine's sockets and pid files,
# but for the shared directory this boot talks through.
for entry in /run/*; do
  [[ "$entry" == /run/vm-io || "$entry" == /run/lock ]] && continue
  rm -rf "$entry" 2>/dev/null || true
done
mkdir -p /run/netns /run/dbus
ip link set lo up
hostname joincast-vm
stty -F /dev/ttyS0 -onlcr raw 2>/dev/null || true
ulimit -n 65536 2>/dev/null || true
ulimit -l unlimited 2>/dev/null || true
bash /run/vm-io/command </dev/null >/dev/ttyS0 2>&1
echo $? > /run/vm-io/rc
sync
echo o > /proc/sysrq-trigger 2>/dev/null || poweroff -f
sleep 10
