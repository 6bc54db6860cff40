/**
 * The end-to-end test's action images, made as Tinkerbell users' are consumed: containers
 * configured by environment variables (COMPAT section 6). Each is `docker import` of a rootfs
 * holding Debian's static busybox (every applet linked) and one shell script as its entrypoint:
 *
 * - image2disk: `IMG_URL`, `DEST_DISK`, `COMPRESSED` (true/false): streams the image
 *   (wget | gunzip | dd in 4 MiB chunks, a progress line after each), syncs, and asks the
 *   kernel to read the new partition table when `DEST_DISK` is a block device.
 * - writefile: `DEST_DISK` (a partition), `FS_TYPE`, `DEST_PATH`, `CONTENTS`, `UID`, `GID`,
 *   `MODE`, `DIRMODE`: mounts, writes, sets owner and modes, unmounts. When it cannot mount (not a
 *   block device, a kernel without the filesystem, no privilege) a FAT partition is written with
 *   mtools instead, which the image carries (Debian's binary and the libraries it links).
 * - reboot: its image's last path component is `reboot`, which wisp-agent recognises
 *   (agent/reboot.ts); it syncs and reboots the machine with sysrq `b` (a privileged container
 *   may write /proc/sysrq-trigger; reboot(2) in a PID namespace would only end the namespace).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { TestDocker } from "../../support/docker.ts";

const BUSYBOX = "/bin/busybox";
/** mtools and what it links, for writefile on FAT when the kernel cannot mount it (package mtools). */
const MTOOLS = { binary: "/usr/bin/mtools", links: ["mcopy", "mmd", "mdir", "mtype"] };
/** glibc's iconv modules for FAT's code pages (mtools converts names through codepage 850). */
const GCONV_DIR = "/usr/lib/x86_64-linux-gnu/gconv";
const GCONV_FILES = ["gconv-modules", "gconv-modules.cache", "IBM850.so", "IBM437.so"];
/** Bytes dd writes per call: progress is counted in these. */
const CHUNK_BYTES = 4 * 1024 * 1024;

const IMAGE2DISK = `#!/bin/sh
# image2disk: IMG_URL -> DEST_DISK, gunzip'd when COMPRESSED is true.
: "\${IMG_URL:?image2disk: IMG_URL is required}" "\${DEST_DISK:?image2disk: DEST_DISK is required}"
case "\${COMPRESSED:-false}" in
  true|TRUE|1|yes) unpack="gunzip -c" ;;
  false|FALSE|0|no|"") unpack="cat" ;;
  *) echo "image2disk: COMPRESSED must be true or false, got '$COMPRESSED'" >&2; exit 2 ;;
esac
echo "image2disk: $IMG_URL -> $DEST_DISK (compressed: \${COMPRESSED:-false})"
set -o pipefail
wget -q -O- "$IMG_URL" | $unpack | {
  n=0
  while :; do
    out=$(dd bs=${CHUNK_BYTES} count=1 iflag=fullblock seek=$n of="$DEST_DISK" conv=notrunc 2>&1) || { echo "image2disk: dd to $DEST_DISK failed: $out" >&2; exit 1; }
    case "$out" in "0+0 records in"*) break ;; esac
    n=$((n + 1))
    echo "image2disk: $((n * ${CHUNK_BYTES / (1024 * 1024)})) MiB written"
  done
  echo "image2disk: done, $n chunks of ${CHUNK_BYTES / (1024 * 1024)} MiB (the last may be partial)"
} || { echo "image2disk: streaming $IMG_URL failed" >&2; exit 1; }
sync
if [ -b "$DEST_DISK" ]; then
  blockdev --flushbufs "$DEST_DISK"
  blockdev --rereadpt "$DEST_DISK" && echo "image2disk: partition table of $DEST_DISK re-read"
fi
echo "image2disk: synced"
`;

const WRITEFILE = `#!/bin/sh
# writefile: CONTENTS -> DEST_PATH on the DEST_DISK partition (FS_TYPE), with owner and modes.
: "\${DEST_DISK:?writefile: DEST_DISK is required}" "\${FS_TYPE:?writefile: FS_TYPE is required}" "\${DEST_PATH:?writefile: DEST_PATH is required}"
case "$DEST_PATH" in /*) ;; *) echo "writefile: DEST_PATH must be absolute, got '$DEST_PATH'" >&2; exit 2 ;; esac
i=0
while [ ! -e "$DEST_DISK" ]; do i=$((i + 1)); [ $i -gt 50 ] && { echo "writefile: $DEST_DISK does not exist" >&2; exit 1; }; sleep 0.1; done
printf '%s' "$CONTENTS" > /tmp/contents
status=0
# Owners and modes: FAT keeps neither, so there a refusal is noted, elsewhere it fails the action.
note() { if [ "$FS_TYPE" = vfat ]; then echo "writefile: $FS_TYPE keeps no $1 (ignored)"; else echo "writefile: setting the $1 failed" >&2; status=1; fi; }
mnt=/mnt/target
mkdir -p "$mnt"
# Only a block device is mounted (busybox would hunt for a free loop device for a file).
if [ ! -b "$DEST_DISK" ]; then
  out="$DEST_DISK is not a block device"
elif out=$(mount -t "$FS_TYPE" "$DEST_DISK" "$mnt" 2>&1); then
  echo "writefile: mounted $DEST_DISK ($FS_TYPE)"
  target="$mnt$DEST_PATH"
  dir=\${target%/*}
  if [ ! -d "$dir" ]; then mkdir -p "$dir" || status=1; [ -n "$DIRMODE" ] && { chmod "$DIRMODE" "$dir" 2>/dev/null || note "directory mode $DIRMODE"; }; fi
  [ $status -eq 0 ] && cp /tmp/contents "$target" || status=1
  if [ $status -eq 0 ]; then
    [ -n "$UID$GID" ] && { chown "\${UID:-0}:\${GID:-0}" "$target" 2>/dev/null || note "owner \${UID:-0}:\${GID:-0}"; }
    [ -n "$MODE" ] && { chmod "$MODE" "$target" 2>/dev/null || note "mode $MODE"; }
    echo "writefile: wrote $(wc -c < "$target") bytes to $DEST_PATH"
  fi
  sync
  umount "$mnt" || { echo "writefile: umount failed" >&2; status=1; }
  exit $status
fi
# No mount (a kernel without the filesystem, or no privilege): FAT is written with mtools.
[ "$FS_TYPE" = vfat ] || { echo "writefile: cannot mount $DEST_DISK ($FS_TYPE): $out" >&2; exit 1; }
echo "writefile: no mount ($out); writing with mtools"
export MTOOLS_SKIP_CHECK=1
dir=\${DEST_PATH%/*}
path=""
for part in $(echo "\${dir#/}" | tr '/' ' '); do
  path="$path/$part"
  mdir -i "$DEST_DISK" "::$path" >/dev/null 2>&1 || mmd -i "$DEST_DISK" "::$path" || { echo "writefile: mmd ::$path failed" >&2; exit 1; }
done
mcopy -o -i "$DEST_DISK" /tmp/contents "::$DEST_PATH" || { echo "writefile: mcopy to ::$DEST_PATH failed" >&2; exit 1; }
[ -n "$UID$GID" ] && note "owner \${UID:-0}:\${GID:-0}"
[ -n "$MODE$DIRMODE" ] && note "mode $MODE/$DIRMODE"
echo "writefile: wrote $(mtype -i "$DEST_DISK" "::$DEST_PATH" | wc -c) bytes to $DEST_PATH"
sync
exit $status
`;

const REBOOT = `#!/bin/sh
# reboot: sync, then reboot the machine (sysrq b; needs a privileged container).
echo "reboot: syncing and rebooting in 2 s"
sync
# Time for the agent to ship this output to wispd before the machine goes.
sleep 2
echo 1 > /proc/sys/kernel/sysrq 2>/dev/null
echo b > /proc/sysrq-trigger
sleep 30
echo "reboot: still running: /proc/sysrq-trigger is not writable (is the container privileged?)" >&2
exit 1
`;

/** The images, by the name the Template uses (the reboot one must keep the base name `reboot`). */
export const ACTION_SCRIPTS = { image2disk: IMAGE2DISK, writefile: WRITEFILE, reboot: REBOOT } as const;
export type ActionName = keyof typeof ACTION_SCRIPTS;
/** The local tag of each image (`wisp-e2e/<name>:1`), pushed to the test's registry under the same repository. */
export const actionImage = (name: ActionName): string => `wisp-e2e/${name}:1`;

/** Imports the three images into `docker` (each a busybox rootfs plus its script as ENTRYPOINT). */
export async function importActionImages(docker: TestDocker): Promise<Record<ActionName, string>> {
  const applets = (await Bun.$`${BUSYBOX} --list`.text()).split("\n").filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== "busybox");
  const out = {} as Record<ActionName, string>;
  for (const [name, script] of Object.entries(ACTION_SCRIPTS) as [ActionName, string][]) {
    const dir = mkdtempSync(join(tmpdir(), `wisp-action-${name}-`));
    try {
      for (const d of ["bin", "tmp", "mnt", "proc", "sys", "dev", "etc"]) mkdirSync(join(dir, d));
      copyFileSync(BUSYBOX, join(dir, "bin", "busybox"));
      chmodSync(join(dir, "bin", "busybox"), 0o755);
      for (const a of applets) symlinkSync("busybox", join(dir, "bin", a));
      if (name === "writefile") await addMtools(dir);
      writeFileSync(join(dir, "action.sh"), script);
      chmodSync(join(dir, "action.sh"), 0o755);
      const tar = Bun.spawnSync(["tar", "-C", dir, "--owner=0", "--group=0", "-c", "."]);
      if (tar.exitCode !== 0) throw new Error(`tar: ${tar.stderr.toString()}`);
      const [repo, tag] = actionImage(name).split(":");
      const changes = ['ENTRYPOINT ["/action.sh"]', "ENV PATH=/bin:/usr/bin"].map((c) => `&changes=${encodeURIComponent(c)}`).join("");
      const res = await fetch(`http://docker/images/create?fromSrc=-&repo=${encodeURIComponent(repo!)}&tag=${tag}${changes}`, {
        method: "POST",
        unix: docker.socket,
        headers: { "content-type": "application/x-tar" },
        body: tar.stdout,
      } as RequestInit);
      const text = await res.text();
      if (!res.ok || text.includes('"error"')) throw new Error(`docker import ${actionImage(name)}: ${res.status} ${text}`);
      out[name] = actionImage(name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

// mtools with the libraries ldd names, at their own paths (the dynamic loader included).
async function addMtools(root: string): Promise<void> {
  if (!existsSync(MTOOLS.binary)) throw new Error(`${MTOOLS.binary} missing (apt-get install mtools)`);
  const ldd = await Bun.$`ldd ${MTOOLS.binary}`.text();
  const files = [MTOOLS.binary, ...[...ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!)];
  for (const f of files) {
    mkdirSync(join(root, dirname(f)), { recursive: true });
    copyFileSync(f, join(root, f));
    chmodSync(join(root, f), 0o755);
  }
  for (const l of MTOOLS.links) symlinkSync("mtools", join(root, dirname(MTOOLS.binary), l));
  mkdirSync(join(root, GCONV_DIR, "gconv-modules.d"), { recursive: true });
  const confs = readdirSync(join(GCONV_DIR, "gconv-modules.d")).map((f) => join("gconv-modules.d", f));
  for (const f of [...GCONV_FILES, ...confs]) {
    if (!existsSync(join(GCONV_DIR, f))) throw new Error(`${join(GCONV_DIR, f)} missing (package libc6)`);
    copyFileSync(join(GCONV_DIR, f), join(root, GCONV_DIR, f));
  }
}
