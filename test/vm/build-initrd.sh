#!/usr/bin/env bash
# Builds the initramfs of the test VM (see vm-test): busybox, the modules for
# 9p, overlayfs, fuse and kvm_amd of the newest kernel in /lib/modules, and
# an init that mounts the host's / read-only under a tmpfs overlay, the
# shared tree read-write at its own path, and runs the command it is given.
set -euo pipefail
out=$1
kernel=$(ls /lib/modules | sort -V | tail -1)
modules=/lib/modules/$kernel
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,proc,sys,dev,mnt/host,mnt/upper,newroot,lib/mod}
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount insmod mkdir chroot cat poweroff; do ln -s busybox "$root/bin/$applet"; done
order=()
add() { # a module (path relative to $modules) after the modules it needs
  local module=$1 dep known
  for dep in $(grep -E "^$module:" "$modules/modules.dep" | cut -d: -f2); do add "$dep"; done
  for known in "${order[@]:-}"; do [ "$known" = "$module" ] && return; done
  order+=("$module")
}
for module in drivers/virtio/virtio_pci 9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay fs/fuse/fuse arch/x86/kvm/kvm-amd; do
  add "$(grep -oE "^kernel/[^:]*${module}\.ko[^:]*" "$modules/modules.dep" | head -1)"
done
for module in "${order[@]}"; do
  cp "$modules/$module" "$root/lib/mod/"
  basename "$module" >> "$root/modules"
done
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules); do insmod /lib/mod/$m || echo "vm: insmod $m failed"; done
share=$(cat /proc/cmdline | sed -n 's/.*kvmfs.share=\([^ ]*\).*/\1/p')
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /mnt/host
mount -t tmpfs -o size=4g tmpfs /mnt/upper
mkdir -p /mnt/upper/u /mnt/upper/w
mount -t overlay overlay -o lowerdir=/mnt/host,upperdir=/mnt/upper/u,workdir=/mnt/upper/w /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share "/newroot$share"
mount -t proc proc /newroot/proc; mount -t sysfs sys /newroot/sys; mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts; mount -t tmpfs tmpfs /newroot/dev/shm
mount -t tmpfs tmpfs /newroot/tmp; mount -t tmpfs tmpfs /newroot/run
chroot /newroot /bin/bash -c "cd '$share' && bash '$share/.scratch/vm/command'" < /dev/console > /dev/console 2>&1
echo "vm: exit $?"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$out"
