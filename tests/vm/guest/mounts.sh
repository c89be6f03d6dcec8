# What a distribution's init mounts, for the guest (busybox sh; sourced by /init, and by a
# scenario booted with husk.bare=1 once it has checked the bare system). Until `husk system
# bootstrap` exists, this is its stand-in.

# mount_system: /sys, /dev/pts, /dev/shm, /tmp, /run and /proc (/dev is devtmpfs already).
mount_system() {
	grep -q ' /proc ' /proc/mounts 2>/dev/null || mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mkdir -p /dev/pts /dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
	mount -t tmpfs -o mode=1777 shm /dev/shm
	mount -t tmpfs -o mode=1777 tmpfs /tmp
	mount -t tmpfs -o mode=0755 tmpfs /run
}

# mount_cgroups v2|hybrid
mount_cgroups() {
	if [ "$1" = v2 ]; then
		# Pure v2: one tree, every controller enabled for the children of the root (the
		# root cgroup is exempt from the "no internal processes" rule).
		mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
		for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
			echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control
		done
	else
		# Hybrid, as systemd sets it up: every v1 controller on its own hierarchy, and the
		# cgroup2 tree (holding whatever v1 did not take) at unified/.
		mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
		for c in $(awk 'NR > 1 && $4 == 1 { print $1 }' /proc/cgroups); do
			mkdir -p "/sys/fs/cgroup/$c"
			mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" ||
				echo "HUSK-VM-WARN cannot mount v1 $c" >/dev/console
		done
		mkdir -p /sys/fs/cgroup/unified
		mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
	fi
}
