/**
 * What goes into the Hook, found on this Debian host: the kernel of `linux-image-cloud-amd64`
 * and the modules the Hook loads (with their dependencies from modules.dep), Docker's engine
 * (dockerd, containerd, the runc shim, runc, docker-init, docker-proxy), iptables (legacy) with
 * its extensions, busybox-static, the shared libraries all of them link (ldd), and the Debian
 * package and version of every file. Reads the host; writes nothing.
 */
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";

/** The meta-package whose kernel the Hook boots. */
export const KERNEL_PACKAGE = "linux-image-cloud-amd64";

/**
 * Modules the Hook loads at boot. NICs, disks, overlay (Docker's storage driver), bridge, veth and
 * netfilter for Docker's default bridge network, 8021q for `vlan_id`; the file systems Tinkerbell's
 * actions mount on the target disk (writefile: vfat with its code pages, xfs; ext4 is built in)
 * and loop for image files. The cloud kernel builds some in (nvme, ext4) and lacks others (e1000,
 * e1000e, ahci): both are recorded in the manifest.
 */
export const DEFAULT_MODULES = [
  "virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi", "e1000", "e1000e", "nvme", "ahci", "sd_mod",
  "overlay", "bridge", "br_netfilter", "veth", "8021q",
  "vfat", "nls_cp437", "nls_ascii", "nls_iso8859-1", "nls_utf8", "xfs", "ext4", "loop",
  "ip_tables", "iptable_filter", "iptable_nat", "iptable_mangle", "xt_MASQUERADE", "xt_addrtype", "xt_conntrack",
  "xt_comment", "xt_mark", "xt_tcpudp", "xt_nat", "ipt_REJECT",
] as const;

/** Host binary -> where it goes in the Hook (the Debian paths, so PATH lookups match Docker's). */
export const ENGINE_BINARIES = [
  { src: "/usr/sbin/dockerd", dest: "/usr/sbin/dockerd", pkg: "docker.io" },
  { src: "/usr/sbin/docker-proxy", dest: "/usr/sbin/docker-proxy", pkg: "docker.io" },
  { src: "/usr/bin/tini-static", dest: "/usr/bin/docker-init", pkg: "tini" },
  { src: "/usr/bin/containerd", dest: "/usr/bin/containerd", pkg: "containerd" },
  { src: "/usr/bin/containerd-shim-runc-v2", dest: "/usr/bin/containerd-shim-runc-v2", pkg: "containerd" },
  { src: "/usr/sbin/runc", dest: "/usr/sbin/runc", pkg: "runc" },
  { src: "/usr/sbin/xtables-legacy-multi", dest: "/usr/sbin/xtables-legacy-multi", pkg: "iptables" },
  { src: "/bin/busybox", dest: "/usr/bin/busybox", pkg: "busybox-static" },
] as const;

/** iptables' extensions (dlopened by name, so ldd does not list them). */
export const XTABLES_DIR = "/usr/lib/x86_64-linux-gnu/xtables";
/** dockerd runs `iptables`; these names run xtables-legacy-multi (it dispatches on its name). */
export const IPTABLES_NAMES = ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"] as const;

/** A regular file to copy into the image. */
export interface ImageFile {
  /** Host path (read through symlinks). */
  src: string;
  /** Absolute path in the image. */
  dest: string;
  mode: number;
}

/** A kernel module to ship, in load order. */
export interface ImageModule {
  name: string;
  /** Path under /lib/modules/<release>/ (as in modules.dep). */
  rel: string;
  /** Every module it needs (modules.dep's list: all shipped too). */
  deps: string[];
}

/** Everything found on the host for one build. */
export interface HookInputs {
  kernelRelease: string;
  kernelImage: string;
  /** Modules to ship, dependencies first: the order init loads them in. */
  modules: ImageModule[];
  /** Requested modules the kernel has built in. */
  builtinModules: string[];
  /** Requested modules this kernel does not have at all. */
  missingModules: string[];
  /** Binaries, libraries and iptables extensions. */
  files: ImageFile[];
  /** Debian package -> version for every shipped host file and the kernel. */
  packages: Record<string, string>;
}

/** Runs a command to completion; throws with its stderr unless `allowFail`. */
export async function run(argv: string[], allowFail = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0 && !allowFail) throw new Error(`${argv.join(" ")} failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
  return { code, stdout, stderr };
}

/** The installed kernel release of `linux-image-cloud-amd64` (its dependency `linux-image-<release>`). */
export async function installedKernelRelease(): Promise<string> {
  const r = await run(["dpkg-query", "-W", "-f=${Status}\t${Depends}\n", KERNEL_PACKAGE], true);
  if (r.code !== 0 || !r.stdout.includes("install ok installed")) throw new Error(`${KERNEL_PACKAGE} is not installed: apt-get install --no-install-recommends ${KERNEL_PACKAGE}`);
  const m = /linux-image-(\d[^\s,(]*)/.exec(r.stdout.split("\t")[1] ?? "");
  if (!m) throw new Error(`cannot find the kernel release in the dependencies of ${KERNEL_PACKAGE}: ${r.stdout.trim()}`);
  return m[1]!;
}

/** Parses modules.dep: module path -> its dependencies' paths. */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    deps.set(line.slice(0, colon), line.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
  }
  return deps;
}

/** The module's name as modprobe spells it (file name, `-` read as `_`). */
export const moduleName = (rel: string): string => rel.slice(rel.lastIndexOf("/") + 1).replace(/\.ko(\.(xz|zst|gz))?$/, "").replaceAll("-", "_");

/** Resolves `wanted` against modules.dep and modules.builtin: load order (dependencies first), built-in, missing. */
export function resolveModules(wanted: readonly string[], depText: string, builtinText: string): { modules: ImageModule[]; builtin: string[]; missing: string[] } {
  const deps = parseModulesDep(depText);
  const byName = new Map([...deps.keys()].map((rel) => [moduleName(rel), rel]));
  const builtins = new Set(builtinText.split("\n").filter(Boolean).map(moduleName));
  const order: ImageModule[] = [];
  const seen = new Set<string>();
  const visit = (rel: string) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    // modules.dep lists every (transitive) dependency; each one's own entry orders them.
    for (const dep of deps.get(rel) ?? []) visit(dep);
    order.push({ name: moduleName(rel), rel, deps: deps.get(rel) ?? [] });
  };
  const builtin: string[] = [];
  const missing: string[] = [];
  for (const want of wanted) {
    const name = want.replaceAll("-", "_");
    const rel = byName.get(name);
    if (rel !== undefined) visit(rel);
    else if (builtins.has(name)) builtin.push(name);
    else missing.push(name);
  }
  return { modules: order, builtin, missing };
}

/** Library paths ldd names for `files` (the loader included), each once. */
export async function sharedLibraries(files: string[]): Promise<string[]> {
  const libs = new Set<string>();
  for (const file of files) {
    const r = await run(["ldd", file], true);
    // Static executables: "not a dynamic executable" (exit 1), nothing to add.
    if (r.code !== 0) continue;
    for (const m of r.stdout.matchAll(/^\s*(?:\S+\s+=>\s+)?(\/\S+)\s+\(0x/gm)) libs.add(m[1]!);
    const missing = /^\s*(\S+) => not found/m.exec(r.stdout);
    if (missing) throw new Error(`${file} needs ${missing[1]}, which is not installed`);
  }
  return [...libs].sort();
}

/** Debian package -> version owning each host path (dpkg -S; a path no package owns is an error). */
export async function owningPackages(paths: string[]): Promise<Record<string, string>> {
  const names = new Set<string>();
  const owners = async (list: string[]): Promise<string[]> => {
    const r = await run(["dpkg-query", "-S", ...list], true);
    for (const line of r.stdout.split("\n")) {
      const m = /^([^:\s,]+)(?::\w+)?(?:, [^:]+)*: (\/.*)$/.exec(line);
      if (m) names.add(m[1]!);
    }
    return [...r.stderr.matchAll(/no path found matching pattern (\S+)/g)].map((m) => m[1]!);
  };
  // Merged /usr: dpkg knows a file by the path its package shipped, /lib/... or /usr/lib/...
  const unowned = await owners(paths);
  const still = unowned.length > 0 ? await owners(unowned.map((p) => (p.startsWith("/usr/") ? p.slice(4) : usrPath(p)))) : [];
  if (still.length > 0) throw new Error(`no Debian package owns ${still.join(", ")}`);
  const v = await run(["dpkg-query", "-W", "-f=${Package}\t${Version}\n", ...names]);
  const out: Record<string, string> = {};
  for (const line of v.stdout.trim().split("\n")) {
    const [name, version] = line.split("\t");
    if (name && version) out[name] = version;
  }
  return out;
}

// /lib and /lib64 are symlinks into /usr on Debian 12 (merged /usr); the image mirrors that, so
// library files go under /usr.
const usrPath = (p: string): string => p.replace(/^\/(lib|lib64|bin|sbin)\//, "/usr/$1/");

/** Finds everything on the host (`alsoLinked`: other executables, e.g. the agent, whose libraries must come too); throws naming the Debian package of anything missing. */
export async function collectInputs(opts: { kernelRelease?: string; modules?: readonly string[]; alsoLinked?: string[] } = {}): Promise<HookInputs> {
  const kernelRelease = opts.kernelRelease ?? (await installedKernelRelease());
  const kernelImage = `/boot/vmlinuz-${kernelRelease}`;
  const modDir = `/lib/modules/${kernelRelease}`;
  if (!existsSync(kernelImage) || !existsSync(join(modDir, "modules.dep"))) throw new Error(`kernel ${kernelRelease}: ${kernelImage} or ${modDir}/modules.dep missing (apt-get install --reinstall linux-image-${kernelRelease})`);
  const resolved = resolveModules(opts.modules ?? DEFAULT_MODULES, readFileSync(join(modDir, "modules.dep"), "utf8"), readFileSync(join(modDir, "modules.builtin"), "utf8"));

  const missing = ENGINE_BINARIES.filter((b) => !existsSync(b.src));
  if (missing.length > 0) throw new Error(`missing: ${missing.map((b) => `${b.src} (apt-get install ${b.pkg})`).join(", ")}`);
  if (!existsSync(XTABLES_DIR)) throw new Error(`missing ${XTABLES_DIR} (apt-get install iptables)`);
  const xtables = readdirSync(XTABLES_DIR).filter((f) => f.endsWith(".so")).sort().map((f) => join(XTABLES_DIR, f));

  const files: ImageFile[] = ENGINE_BINARIES.map((b) => ({ src: b.src, dest: b.dest, mode: 0o755 }));
  for (const x of xtables) files.push({ src: x, dest: usrPath(x), mode: 0o644 });
  const libs = await sharedLibraries([...ENGINE_BINARIES.map((b) => b.src), ...xtables, ...(opts.alsoLinked ?? [])]);
  for (const lib of libs) files.push({ src: lib, dest: usrPath(lib), mode: 0o755 });

  const packages = await owningPackages([...ENGINE_BINARIES.map((b) => b.src), XTABLES_DIR, ...libs, kernelImage]);
  const meta = await run(["dpkg-query", "-W", "-f=${Version}", KERNEL_PACKAGE], true);
  if (meta.code === 0 && meta.stdout) packages[KERNEL_PACKAGE] = meta.stdout;
  for (const f of files) statSync(realpathSync(f.src)); // unreadable files fail here, not mid-archive
  return { kernelRelease, kernelImage, modules: resolved.modules, builtinModules: resolved.builtin, missingModules: resolved.missing, files, packages };
}
