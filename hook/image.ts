/**
 * The Hook's file tree, as cpio entries: Debian's merged-/usr layout, busybox and its applet
 * links, Docker's engine and iptables with their libraries, the kernel modules and their load
 * order, wisp-agent, hook/init as /init and hook/rootfs/ on top. Entries come sorted by path, so
 * the same inputs give the same archive byte for byte.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { CpioEntry } from "./cpio.ts";
import { IPTABLES_NAMES, type HookInputs } from "./inputs.ts";

/** Where the files copied verbatim into the image live (hook/init is /init). */
export const HOOK_DIR = import.meta.dir;
export const ROOTFS_DIR = join(HOOK_DIR, "rootfs");
export const INIT_FILE = join(HOOK_DIR, "init");
/** Where init reads the modules to load, one path under /lib/modules/<release>/ a line, in order. */
export const MODULE_LIST = "/etc/wisp-hook/modules";
/** Where the agent goes in the image. */
export const AGENT_PATH = "/usr/bin/wisp-agent";

// Lazily read: a file's bytes are loaded only when the archive writer reaches it.
type Planned =
  | { kind: "dir"; mode: number }
  | { kind: "file"; mode: number; read: () => Uint8Array }
  | { kind: "symlink"; target: string }
  | { kind: "chardev"; major: number; minor: number; mode: number };

/** The image plan: every path (absolute), what it is, and the regular files' sizes. */
export interface ImagePlan {
  entries(): Generator<CpioEntry>;
  /** Regular files: image path -> size in bytes. */
  files: Map<string, number>;
  symlinkCount: number;
}

/** Plans the image from the host inputs, the agent binary and busybox's applet list (`busybox --list-full`). */
export function planImage(inputs: HookInputs, agent: Uint8Array, busyboxApplets: string[]): ImagePlan {
  const plan = new Map<string, Planned>();
  const files = new Map<string, number>();
  const dir = (path: string, mode = 0o755) => {
    if (!plan.has(path)) plan.set(path, { kind: "dir", mode });
  };
  const parents = (path: string) => {
    for (let i = path.indexOf("/", 1); i > 0; i = path.indexOf("/", i + 1)) dir(path.slice(0, i));
  };
  const file = (path: string, mode: number, size: number, read: () => Uint8Array) => {
    parents(path);
    plan.set(path, { kind: "file", mode, read });
    files.set(path, size);
  };
  const hostFile = (src: string, path: string, mode: number) => file(path, mode, statSync(src).size, () => readFileSync(src));
  const text = (path: string, content: string, mode = 0o644) => {
    const bytes = new TextEncoder().encode(content);
    file(path, mode, bytes.length, () => bytes);
  };
  const symlink = (path: string, target: string) => {
    parents(path);
    plan.set(path, { kind: "symlink", target });
  };

  // Debian 12's merged /usr: /bin, /sbin, /lib and /lib64 point into /usr (the ELF interpreter
  // is /lib64/ld-linux-x86-64.so.2).
  for (const d of ["bin", "sbin", "lib", "lib64"]) symlink(`/${d}`, `usr/${d}`);
  for (const d of ["/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/etc", "/proc", "/sys", "/dev", "/run", "/var/lib", "/var/log", "/root"]) dir(d);
  dir("/tmp", 0o1777);
  symlink("/var/run", "../run");
  // The kernel opens /dev/console for init's stdio before anything mounts devtmpfs.
  plan.set("/dev/console", { kind: "chardev", major: 5, minor: 1, mode: 0o600 });

  for (const f of inputs.files) hostFile(f.src, f.dest, f.mode);
  for (const name of IPTABLES_NAMES) symlink(`/usr/sbin/${name}`, "xtables-legacy-multi");
  for (const applet of busyboxApplets) {
    const slash = applet.lastIndexOf("/");
    if (slash < 0) continue; // "linuxrc" at the root: not wanted
    const path = `/${applet}`.replace(/^\/(bin|sbin)\//, "/usr/$1/");
    if (!plan.has(path)) symlink(path, "/usr/bin/busybox");
  }

  const modRoot = `/usr/lib/modules/${inputs.kernelRelease}`;
  for (const m of inputs.modules) hostFile(`/lib/modules/${inputs.kernelRelease}/${m.rel}`, `${modRoot}/${m.rel}`, 0o644);
  // modprobe (busybox) for what dockerd asks for by name; the dependencies of shipped modules only.
  text(`${modRoot}/modules.dep`, inputs.modules.map((m) => `${m.rel}: ${m.deps.join(" ")}`.trimEnd()).join("\n") + "\n");
  text(MODULE_LIST, inputs.modules.map((m) => m.rel).join("\n") + "\n");

  file(AGENT_PATH, 0o755, agent.length, () => agent);
  text("/init", readFileSync(INIT_FILE, "utf8"), 0o755);
  for (const path of walk(ROOTFS_DIR)) {
    const src = join(ROOTFS_DIR, path);
    hostFile(src, `/${path}`, statSync(src).mode & 0o111 ? 0o755 : 0o644);
  }

  const paths = [...plan.keys()].sort();
  return {
    files,
    symlinkCount: [...plan.values()].filter((p) => p.kind === "symlink").length,
    *entries() {
      for (const path of paths) {
        const p = plan.get(path)!;
        if (p.kind === "file") yield { kind: "file", path, mode: p.mode, data: p.read() };
        else if (p.kind === "dir") yield { kind: "dir", path, mode: p.mode };
        else if (p.kind === "symlink") yield { kind: "symlink", path, target: p.target };
        else yield { kind: "chardev", path, major: p.major, minor: p.minor, mode: p.mode };
      }
    },
  };
}

/** Files under `root`, relative to it, sorted. */
export function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) out.push(relative(root, p));
    }
  };
  visit(root);
  return out.sort();
}
