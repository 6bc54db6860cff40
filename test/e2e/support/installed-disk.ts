/**
 * The "installed system" the end-to-end test provisions: a small raw disk image, built from the
 * host's files without mounting anything, gzip'd, cached in /tmp by the hash of its inputs.
 *
 * Layout: an MBR (syslinux's mbr.bin) with one bootable FAT16 partition at 1 MiB holding
 * - `/vmlinuz` (the host's cloud kernel, findKernel()) and `/initrd.img` (busybox, a few virtio
 *   and FAT modules, the /init below), booted under BIOS by syslinux (`/syslinux.cfg`);
 * - `/EFI/BOOT/BOOTX64.EFI`, a unified kernel image (systemd-boot's EFI stub with `.linux`,
 *   `.initrd`, `.cmdline` and `.osrel` sections, added with objcopy) that OVMF finds on the
 *   removable-media path of any FAT partition;
 * - `/wisp/`, where the workflow's writefile action puts `metadata-url`.
 *
 * The /init mounts the partition, reads the metadata URL the writefile action wrote, brings up
 * eth0 with udhcpc, fetches `meta-data/instance-id` from wispd's EC2 tree twice, prints
 * `wisp-installed: ...` lines on the serial console and powers the VM off.
 */
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { findKernel } from "../../support/qemu.ts";
import { cpioArchive, type CpioEntry } from "../../../hook/cpio.ts";

/** What every line of the installed system's console output starts with. */
export const INSTALLED_PREFIX = "wisp-installed:";
/** The file (on the FAT partition) the writefile action writes and the installed system reads. */
export const METADATA_URL_DIR = "/wisp";
export const METADATA_URL_FILE = `${METADATA_URL_DIR}/metadata-url`;
/** The partition's first byte: sector 2048, where `mtype -i disk.raw@@<offset>` finds the FAT. */
export const PARTITION_OFFSET = 1024 * 1024;
/** The disk image's size, and the partition's (the rest of the disk). */
export const DISK_BYTES = 80 * 1024 * 1024;
const PARTITION_BYTES = DISK_BYTES - PARTITION_OFFSET;
/** Files the partition holds, by path on it. */
export const BOOT_FILES = { kernel: "/vmlinuz", initrd: "/initrd.img", uefi: "/EFI/BOOT/BOOTX64.EFI", syslinux: "/syslinux.cfg" } as const;

/** Debian packages (and files) the build uses. */
const TOOLS: Record<string, string> = {
  "/usr/sbin/sfdisk": "fdisk",
  "/usr/sbin/mkfs.vfat": "dosfstools",
  "/usr/bin/mcopy": "mtools",
  "/usr/bin/syslinux": "syslinux",
  "/usr/lib/syslinux/mbr/mbr.bin": "syslinux-common",
  "/usr/lib/systemd/boot/efi/linuxx64.efi.stub": "systemd-boot-efi",
  "/usr/bin/objcopy": "binutils",
  "/bin/busybox": "busybox-static",
};
const MBR_BIN = "/usr/lib/syslinux/mbr/mbr.bin";
const EFI_STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
const BUSYBOX = "/bin/busybox";
/** Modules the installed system loads, in dependency order (virtio NIC and disk, FAT). */
const MODULES = [
  "drivers/virtio/virtio_ring.ko",
  "drivers/virtio/virtio.ko",
  "drivers/virtio/virtio_pci_modern_dev.ko",
  "drivers/virtio/virtio_pci_legacy_dev.ko",
  "drivers/virtio/virtio_pci.ko",
  "drivers/block/virtio_blk.ko",
  "net/core/failover.ko",
  "drivers/net/net_failover.ko",
  "drivers/net/virtio_net.ko",
  "fs/fat/fat.ko",
  "fs/fat/vfat.ko",
  "fs/nls/nls_cp437.ko",
  "fs/nls/nls_ascii.ko",
];
/**
 * Where the UKI's sections go (virtual addresses): above the stub's own (it ends below 0x20000)
 * and apart from each other, as systemd 252's documentation places them for objcopy.
 */
const UKI_SECTIONS = { ".osrel": 0x20000, ".cmdline": 0x30000, ".linux": 0x2000000 } as const;

const KERNEL_ARGS = "console=ttyS0,115200 panic=-1";

// The installed system's /init. Each step says what failed; every path ends in a power-off.
const INIT = `#!/bin/sh
export PATH=/bin
say() { echo "${INSTALLED_PREFIX} $*"; }
fail() { say "error: $*"; sync; poweroff -f; sleep 30; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
boot=$(sed -n 's/.*wisp.boot=\\([a-z]*\\).*/\\1/p' /proc/cmdline)
say "booted via=\${boot:-unknown} kernel=$(uname -r)"
for m in $(cat /modules/order); do insmod /modules/$m || fail "insmod $m"; done
i=0; while [ ! -b /dev/vda1 ]; do i=$((i+1)); [ $i -gt 100 ] && fail "no /dev/vda1"; sleep 0.1; done
mkdir -p /mnt && mount -t vfat -o ro /dev/vda1 /mnt || fail "mount /dev/vda1"
[ -f /mnt${METADATA_URL_FILE} ] || fail "no ${METADATA_URL_FILE} on /dev/vda1 (the writefile action writes it)"
url=$(cat /mnt${METADATA_URL_FILE})
say "metadata-url=$url"
ip link set lo up
i=0; while [ ! -e /sys/class/net/eth0 ]; do i=$((i+1)); [ $i -gt 100 ] && fail "no eth0"; sleep 0.1; done
ip link set eth0 up
udhcpc -i eth0 -n -q -t 20 -T 2 -s /udhcpc.script >/dev/null 2>&1 || fail "no DHCP lease on eth0"
say "network up $(ip -4 -o addr show eth0 | awk '{print $4}')"
for n in 1 2; do
  # (not wget -T: Debian's static busybox 1.35 crashes with it)
  id=$(timeout 20 wget -q -O- "$url/2009-04-04/meta-data/instance-id") || fail "GET $url/2009-04-04/meta-data/instance-id"
  say "instance-id=$id fetch=$n"
done
say "powering off"
poweroff -f
sleep 30
`;

// udhcpc's event script: apply the lease (address and route).
const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route add default via "\${router%% *}" dev "$interface"
    ;;
esac
exit 0
`;

const SYSLINUX_CFG = `DEFAULT installed
TIMEOUT 0
PROMPT 0
SERIAL 0 115200
LABEL installed
  LINUX ${BOOT_FILES.kernel}
  INITRD ${BOOT_FILES.initrd}
  APPEND ${KERNEL_ARGS} wisp.boot=bios
`;

export interface InstalledDisk {
  /** The gzip'd raw image (in the cache; copy it, do not move it). */
  gz: string;
  /** Bytes of the raw image. */
  rawBytes: number;
  /** Size of `/vmlinuz` on the partition (the host's kernel). */
  kernelBytes: number;
  /** Whether the image came from the cache. */
  cached: boolean;
}

/** Throws naming the Debian package of each missing tool. */
export function requireDiskTools(): void {
  const missing = Object.entries(TOOLS).filter(([f]) => !existsSync(f));
  if (missing.length > 0) throw new Error(`missing: ${missing.map(([f, p]) => `${f} (apt-get install ${p})`).join(", ")}`);
}

/** Builds (or takes from `cacheDir`) the installed system's disk image, gzip'd. */
export async function buildInstalledDisk(opts: { cacheDir?: string } = {}): Promise<InstalledDisk> {
  requireDiskTools();
  const kernel = findKernel();
  const version = basename(kernel).replace(/^vmlinuz-/, "");
  const modDir = `/lib/modules/${version}/kernel`;
  const modules = MODULES.map((m) => join(modDir, m));
  const absent = modules.filter((m) => !existsSync(m));
  if (absent.length > 0) throw new Error(`kernel ${kernel}: modules missing (${absent.join(", ")}): the installed system needs /lib/modules/${version} of the same package`);

  // The cache key: every input file (path, size, mtime) and every text that goes into the image.
  const hash = createHash("sha256");
  for (const f of [kernel, ...modules, BUSYBOX, MBR_BIN, EFI_STUB, "/usr/bin/syslinux"]) {
    const s = statSync(f);
    hash.update(`${f}\0${s.size}\0${s.mtimeMs}\0`);
  }
  hash.update(INIT).update(UDHCPC_SCRIPT).update(SYSLINUX_CFG).update(KERNEL_ARGS).update(`${DISK_BYTES}/${PARTITION_OFFSET}/v1`);
  const cacheDir = opts.cacheDir ?? join(tmpdir(), "wisp-e2e-cache");
  mkdirSync(cacheDir, { recursive: true });
  const gz = join(cacheDir, `installed-${hash.digest("hex").slice(0, 16)}.raw.gz`);
  const kernelBytes = statSync(kernel).size;
  if (existsSync(gz)) return { gz, rawBytes: DISK_BYTES, kernelBytes, cached: true };

  const work = mkdtempSync(join(tmpdir(), "wisp-installed-"));
  try {
    const initrd = join(work, "initrd.img");
    writeFileSync(initrd, Bun.gzipSync(initramfs(modules)));
    const cmdline = join(work, "cmdline.txt");
    writeFileSync(cmdline, `${KERNEL_ARGS} wisp.boot=uefi\0`);
    const osrel = join(work, "os-release");
    writeFileSync(osrel, 'ID=wisp-installed\nNAME="Wisp e2e installed system"\nVERSION_ID=1\n');
    // The initrd goes after the kernel, at the next 16 MiB boundary past it.
    const initrdVma = (Math.ceil((UKI_SECTIONS[".linux"] + kernelBytes) / 0x1000000) + 1) * 0x1000000;
    const uki = join(work, "BOOTX64.EFI");
    await run(["objcopy",
      "--add-section", `.osrel=${osrel}`, "--change-section-vma", `.osrel=0x${UKI_SECTIONS[".osrel"].toString(16)}`,
      "--add-section", `.cmdline=${cmdline}`, "--change-section-vma", `.cmdline=0x${UKI_SECTIONS[".cmdline"].toString(16)}`,
      "--add-section", `.linux=${kernel}`, "--change-section-vma", `.linux=0x${UKI_SECTIONS[".linux"].toString(16)}`,
      "--add-section", `.initrd=${initrd}`, "--change-section-vma", `.initrd=0x${initrdVma.toString(16)}`,
      EFI_STUB, uki]);

    // The FAT partition as its own file: hidden sectors = its offset in sectors (BIOS boot
    // code reads the disk by absolute sector); a fixed volume id keeps the build repeatable.
    const part = join(work, "part.img");
    await run(["truncate", "-s", String(PARTITION_BYTES), part]);
    await run(["mkfs.vfat", "-F", "16", "-n", "WISPBOOT", "-i", "57495350", "-h", String(PARTITION_OFFSET / 512), part]);
    const cfg = join(work, "syslinux.cfg");
    writeFileSync(cfg, SYSLINUX_CFG);
    const m = (args: string[]) => run(args, { MTOOLS_SKIP_CHECK: "1" });
    await m(["mmd", "-i", part, "::/EFI", "::/EFI/BOOT", `::${METADATA_URL_DIR}`]);
    await m(["mcopy", "-i", part, kernel, `::${BOOT_FILES.kernel}`]);
    await m(["mcopy", "-i", part, initrd, `::${BOOT_FILES.initrd}`]);
    await m(["mcopy", "-i", part, cfg, `::${BOOT_FILES.syslinux}`]);
    await m(["mcopy", "-i", part, uki, `::${BOOT_FILES.uefi}`]);
    await run(["syslinux", "--install", part]);

    const raw = join(work, "disk.raw");
    await run(["truncate", "-s", String(DISK_BYTES), raw]);
    // sfdisk: an MBR with one bootable FAT16 (LBA) partition filling the disk from sector 2048.
    await run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", raw], `label: dos\nlabel-id: 0x57495350\nstart=${PARTITION_OFFSET / 512}, type=e, bootable\n`);
    await run(["dd", `if=${MBR_BIN}`, `of=${raw}`, "bs=440", "count=1", "conv=notrunc", "status=none"]);
    await run(["dd", `if=${part}`, `of=${raw}`, "bs=1M", `seek=${PARTITION_OFFSET / (1024 * 1024)}`, "conv=notrunc", "status=none"]);
    await run(["gzip", "-n", "-6", raw]);
    // Another test process may build the same image: rename is atomic, the last one wins.
    renameSync(`${raw}.gz`, `${gz}.${process.pid}`);
    renameSync(`${gz}.${process.pid}`, gz);
    return { gz, rawBytes: DISK_BYTES, kernelBytes, cached: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// The initramfs: busybox (static) with its applets linked, the modules, /init and the udhcpc script.
function initramfs(modules: string[]): Uint8Array<ArrayBuffer> {
  const text = (s: string) => new TextEncoder().encode(s);
  const entries: CpioEntry[] = [];
  for (const d of ["bin", "dev", "proc", "sys", "mnt", "modules"]) entries.push({ kind: "dir", path: d });
  entries.push({ kind: "chardev", path: "dev/console", major: 5, minor: 1 });
  entries.push({ kind: "file", path: "bin/busybox", mode: 0o755, data: readFileSync(BUSYBOX) });
  for (const applet of ["sh", "mount", "sed", "cat", "uname", "insmod", "sleep", "mkdir", "ip", "udhcpc", "awk", "wget", "timeout", "poweroff", "sync"]) {
    entries.push({ kind: "symlink", path: `bin/${applet}`, target: "busybox" });
  }
  for (const m of modules) entries.push({ kind: "file", path: `modules/${basename(m)}`, data: readFileSync(m) });
  entries.push({ kind: "file", path: "modules/order", data: text(modules.map((m) => basename(m)).join("\n") + "\n") });
  entries.push({ kind: "file", path: "udhcpc.script", mode: 0o755, data: text(UDHCPC_SCRIPT) });
  entries.push({ kind: "file", path: "init", mode: 0o755, data: text(INIT) });
  return cpioArchive(entries);
}

async function run(argv: string[], stdinOrEnv?: string | Record<string, string>): Promise<void> {
  const stdin = typeof stdinOrEnv === "string" ? new TextEncoder().encode(stdinOrEnv) : "ignore";
  const env = typeof stdinOrEnv === "object" ? { ...process.env, ...stdinOrEnv } : process.env;
  const proc = Bun.spawn(argv, { stdin, stdout: "pipe", stderr: "pipe", env });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")}: exit ${code}: ${(err || out).trim()}`);
}

/** Copies the image into `dir` (wispd's artifacts directory) as `name`, readable by all. */
export function copyInto(disk: InstalledDisk, dir: string, name: string): string {
  const to = join(dir, name);
  copyFileSync(disk.gz, to);
  chmodSync(to, 0o644);
  return to;
}
