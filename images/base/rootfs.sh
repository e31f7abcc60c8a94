# shellcheck shell=bash
# Debian rootfs helpers for images/base/build.sh (sourced, not run).
# Builds a minbase rootfs with debootstrap from the Debian mirror that apt on this machine
# is already configured with, applies the suite's updates and security updates, and
# slims it the way Debian's own "-slim" images are slimmed.

# apt_repo_uri SUITE: the first repository URI that apt's configured sources use for SUITE.
apt_repo_uri() {
  # shellcheck disable=SC2016 # $(...) is apt's format syntax, not the shell's
  apt-get indextargets --no-release-info --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' \
    | awk -v s="$1" '$1 == s { print $2; exit }'
}

# in_chroot DIR CMD...: run a command inside the rootfs with /proc mounted and no
# service starts, with apt told to accept the configured mirror's Release dates as the
# host's apt does.
in_chroot() {
  local dir=$1; shift
  mount -t proc proc "$dir/proc" || return 1
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf" || { umount "$dir/proc"; return 1; }
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod +x "$dir/usr/sbin/policy-rc.d"
  local rc=0
  DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot "$dir" "$@" || rc=$?
  rm -f "$dir/usr/sbin/policy-rc.d"
  umount "$dir/proc"
  return "$rc"
}

APT_CHROOT_OPTS=(-o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false -o Dpkg::Use-Pty=0 -qq)

# slim_rootfs DIR: drop docs, man pages, locales, apt lists and logs; keep copyright files.
slim_rootfs() {
  local dir=$1
  mkdir -p "$dir/etc/dpkg/dpkg.cfg.d" "$dir/etc/apt/apt.conf.d"
  cat >"$dir/etc/dpkg/dpkg.cfg.d/castle-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
  cat >"$dir/etc/apt/apt.conf.d/castle-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::GzipIndexes "true";
CFG
  find "$dir/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$dir"/usr/share/{man,groff,info,lintian,linda,locale}/* \
    "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old \
    "$dir"/var/lib/dpkg/*-old "$dir"/tmp/* "$dir"/var/tmp/*
  find "$dir/var/log" -type f -delete
  # Docker bind-mounts its own; the build machine's must not leak into the image.
  : >"$dir/etc/resolv.conf"
  : >"$dir/etc/hostname"
  rm -f "$dir/etc/machine-id"
}

# make_rootfs SUITE MIRROR SECURITY_MIRROR DEB_CACHE OUT_SLIM OUT_FULL
# OUT_SLIM: minbase; OUT_FULL: minbase + ca-certificates. Returns non-zero at the first
# failing step (it is called from an `||` list, where errexit does not apply).
make_rootfs() {
  local suite=$1 mirror=$2 security=$3 debs=$4 slim=$5 full=$6 dir
  for dir in "$slim" "$full"; do
    # A run that was killed may have left /proc mounted inside; never delete through it.
    if mountpoint -q "$dir/proc" 2>/dev/null; then umount "$dir/proc" || return 1; fi
    rm -rf --one-file-system "$dir" || return 1
  done
  mkdir -p "$debs" || return 1
  debootstrap --variant=minbase --cache-dir="$debs" "$suite" "$slim" "$mirror" || return 1
  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    if [[ -n $security ]]; then echo "deb $security $suite-security main"; fi
  } >"$slim/etc/apt/sources.list" || return 1
  in_chroot "$slim" apt-get "${APT_CHROOT_OPTS[@]}" update || return 1
  in_chroot "$slim" apt-get "${APT_CHROOT_OPTS[@]}" -y upgrade || return 1
  cp -a "$slim" "$full" || return 1
  in_chroot "$full" apt-get "${APT_CHROOT_OPTS[@]}" -y install --no-install-recommends ca-certificates || return 1
  slim_rootfs "$slim" || return 1
  slim_rootfs "$full"
}
