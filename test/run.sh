#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: installs the Debian packages the tests use
# when they are missing, type-checks, runs `bun test`, and prints "N passed, N failed".
# Services: PostgreSQL runs as a throw-away cluster that test/support/postgres.ts starts on a
# private unix socket and loopback port (and removes at exit) unless WISP_TEST_DATABASE_URL
# points at one already.
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive for real.
DEB_PACKAGES=(postgresql curl iproute2 util-linux isc-dhcp-client udhcpc isc-dhcp-relay bsdutils tftp-hpa ipxe nftables qemu-system-x86 ipxe-qemu ovmf qemu-utils tcpdump linux-image-cloud-amd64 cloud-init nginx-light docker.io busybox-static docker-registry apache2-utils openipmi ipmitool chromium dosfstools mtools syslinux syslinux-common extlinux systemd-boot-efi openssl systemd python3 zstd cpio xz-utils fdisk binutils)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "test: installing Debian packages: ${missing[*]}"
  apt-get update -q || exit 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" || exit 1
fi
# The cluster package starts a default cluster we do not use; ours is private to the run.
[ -x node_modules/.bin/bun ] || npm ci --no-audit --no-fund || exit 1

failed_extra=0
echo "test: type-checking (tsc --noEmit)"
if ! node_modules/.bin/tsc --noEmit -p .; then
  echo "test: type check failed"
  failed_extra=1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
node_modules/.bin/bun test --timeout 60000 "$@" 2> >(tee "$log" >&2)
rc=$?
wait
pass=$(grep -Eo '^ *[0-9]+ pass' "$log" | tail -n1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail' "$log" | tail -n1 | grep -Eo '[0-9]+' || echo 0)
fail=$((fail + failed_extra))
if ((rc == 0 && failed_extra)); then rc=1; fi
echo "${pass} passed, ${fail} failed"
exit "$rc"
