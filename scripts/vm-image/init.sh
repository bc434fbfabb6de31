#!/bin/sh
# The example VM's boot script, run by busybox init (/etc/inittab, written by build.ts): network up,
# an HTTP server on :8080, a counter that a snapshot must carry over, then a marker on the console.
# busybox init gives the console its shell and turns Ctrl-Alt-Del (QEMU's graceful stop, through
# QMP send-key) and the ACPI power button into an orderly poweroff.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Twice: a module whose dependency comes later in the list loads on the second pass.
for pass in 1 2; do
  for m in virtio_ring virtio failover net_failover virtio_pci_legacy_dev virtio_pci_modern_dev \
    virtio_pci virtio_mmio virtio_net virtio_blk button evdev fat vfat nls_cp437 nls_utf8 \
    nls_ascii; do
    grep -q "^$m " /proc/modules || insmod "/lib/modules/$m.ko" 2>/dev/null
  done
done
name=$(sed -n 's/.*outpost\.name=\([A-Za-z0-9-]*\).*/\1/p' /proc/cmdline)
hostname "${name:-outpost-vm}"
ip link set lo up
# On the agent's --vm-bridge the address comes on the kernel command line, as the kernel's own
# ip=<client>::<gateway>:<netmask>::eth0:off; without it, QEMU user-mode networking's fixed one.
ipcfg=$(sed -n 's/.* ip=\([0-9.]*\)::\([0-9.]*\):\([0-9.]*\)::eth0:off.*/\1 \2 \3/p' /proc/cmdline)
if [ -n "$ipcfg" ]; then
  set -- $ipcfg
  ip link set eth0 up 2>/dev/null && ifconfig eth0 "$1" netmask "$3" && ip route add default via "$2"
else
  ip link set eth0 up 2>/dev/null && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
fi
mkdir -p /www /data
mount /dev/vda /data 2>/dev/null
echo "hello from ${name:-outpost-vm}" > /www/index.html
ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}' > /www/address
# NoCloud seed (what cloud images read): a disk labelled cidata with user-data.
seed=$(findfs LABEL=cidata 2>/dev/null)
if [ -n "$seed" ]; then mkdir -p /seed && mount -o ro "$seed" /seed && cp /seed/user-data /www/user-data; fi
httpd -p 8080 -h /www
(i=0; while :; do i=$((i + 1)); echo "$i" > /www/counter; sleep 1; done) &
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\nkill -USR2 1\n' > /etc/acpi/PWRF/00000080
chmod 755 /etc/acpi/PWRF/00000080
acpid -c /etc/acpi 2>/dev/null
echo "OUTPOST-VM-READY ${name:-outpost-vm}"
