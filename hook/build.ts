/**
 * Builds the Hook: an x86_64 kernel (`vmlinuz-x86_64`, Debian's cloud kernel) and initramfs
 * (`initramfs-x86_64`: busybox, Docker's engine, wisp-agent; see hook/README.md), plus
 * `hook-manifest-x86_64.json`, into wispd's artifacts directory. Builds are cached under a key
 * made of the Debian package versions, the agent binary's hash and the hook sources, so a second
 * run with nothing changed only copies (or keeps) the files. `bun hook/build.ts --help`.
 */
import { createHash } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { cpioWriter } from "./cpio.ts";
import { collectInputs, DEFAULT_MODULES, run, type HookInputs } from "./inputs.ts";
import { HOOK_DIR, INIT_FILE, planImage, ROOTFS_DIR, walk } from "./image.ts";

const ROOT = resolve(HOOK_DIR, "..");
/** wispd's default artifacts directory (`--data-dir ./var` + `artifacts`). */
export const DEFAULT_OUT_DIR = join(ROOT, "var", "artifacts");
/** Finished builds, one directory per cache key. */
export const DEFAULT_CACHE_DIR = join(ROOT, "var", "hook-cache");
/** The compiled agent (`npm run build:agent`); rebuilt when missing or older than its sources. */
export const AGENT_BINARY = join(ROOT, "dist", "wisp-agent");
/** Names the iPXE script asks for (daemon/http/ipxe-script.ts: vmlinuz-${arch}, initramfs-${arch}). */
export const KERNEL_NAME = "vmlinuz-x86_64";
export const INITRAMFS_NAME = "initramfs-x86_64";
export const MANIFEST_NAME = "hook-manifest-x86_64.json";
/**
 * zstd level. 12 is the knee measured on this image: 89.3 MiB for 25 s of CPU, where 19 gives
 * 81.5 MiB for 260 s (and 3 gives 99.6 MiB in 2 s). Levels up to 19 keep an 8 MiB window, which
 * the kernel's decoder allocates at boot; `--level 19` for the smallest image.
 */
export const DEFAULT_ZSTD_LEVEL = 12;
/** How long a build waits for another process building the same key. */
const LOCK_WAIT_MS = 30 * 60_000;
/** Bump when the manifest or the image layout changes in a way the sources do not show. */
const FORMAT = 1;

/** What a build produced; written as hook-manifest-x86_64.json beside the two files. */
export interface HookManifest {
  format: number;
  arch: "x86_64";
  /** sha256 of everything the build depends on (see cacheKey). */
  cacheKey: string;
  builtAt: string;
  /** Seconds the build took (the cold build, for a cached result). */
  buildSeconds: number;
  kernel: { release: string; file: string; size: number; sha256: string };
  initramfs: { file: string; compression: "zstd" | "xz"; level: number; size: number; uncompressedSize: number; sha256: string };
  agent: { size: number; sha256: string };
  /** Debian package -> version of every shipped host file. */
  packages: Record<string, string>;
  modules: { loaded: string[]; builtin: string[]; missing: string[] };
  /** Regular files in the initramfs: path -> size. */
  files: Record<string, number>;
  symlinks: number;
}

/** Every knob of a build (buildHook takes the common ones). */
export interface BuildOptions {
  outDir: string;
  cacheDir?: string;
  onProgress?: (line: string) => void;
  /** Default AGENT_BINARY, built when missing or stale; a given path is used as is. */
  agentBinary?: string;
  kernelRelease?: string;
  /** Modules to load in addition to DEFAULT_MODULES. */
  extraModules?: string[];
  compression?: "zstd" | "xz";
  level?: number;
  /** Build even when the cache has this key. */
  force?: boolean;
}

/** The result of a build. */
export interface HookBuild {
  kernel: string;
  initramfs: string;
  manifest: HookManifest;
  cached: boolean;
}

/** Builds (or takes from the cache) the Hook's kernel and initramfs into `outDir`. */
export async function buildHook(opts: { outDir: string; cacheDir?: string; onProgress?: (line: string) => void }): Promise<{ kernel: string; initramfs: string; manifest: HookManifest; cached: boolean }> {
  return build(opts);
}

/** buildHook with every option (the CLI's). */
export async function build(opts: BuildOptions): Promise<HookBuild> {
  const started = performance.now();
  const say = opts.onProgress ?? (() => {});
  const compression = opts.compression ?? "zstd";
  const level = opts.level ?? (compression === "zstd" ? DEFAULT_ZSTD_LEVEL : 9);
  const cacheDir = resolve(opts.cacheDir ?? DEFAULT_CACHE_DIR);
  const outDir = resolve(opts.outDir);

  const compressor = compression === "zstd" ? { tool: "zstd", pkg: "zstd" } : { tool: "xz", pkg: "xz-utils" };
  if (Bun.which(compressor.tool) === null) throw new Error(`${compressor.tool} not found: apt-get install ${compressor.pkg}`);
  const agentPath = opts.agentBinary ?? AGENT_BINARY;
  if (opts.agentBinary === undefined) await ensureAgent(say);
  // Read once: the hash and the archive see the same bytes even if the file is rebuilt meanwhile.
  const agent = readFileSync(agentPath);
  const agentSha = sha256(agent);
  say(`agent ${agentPath} (${mb(agent.length)}, sha256 ${agentSha.slice(0, 12)})`);

  // The compiled agent links glibc's libpthread, libdl and libm (and the loader).
  const inputs = await collectInputs({ kernelRelease: opts.kernelRelease, modules: [...DEFAULT_MODULES, ...(opts.extraModules ?? [])], alsoLinked: [agentPath] });
  say(`kernel ${inputs.kernelRelease}; ${inputs.modules.length} modules (${inputs.builtinModules.length} built in, not in this kernel: ${inputs.missingModules.join(", ") || "none"}); ${inputs.files.length} files from ${Object.keys(inputs.packages).length} packages`);
  const key = cacheKey(inputs, agentSha, compression, level);
  const entry = join(cacheDir, key);

  let cached = !opts.force && existsSync(join(entry, MANIFEST_NAME));
  if (cached) say(`cache hit ${key.slice(0, 16)} (${entry})`);
  else {
    const release = await lock(entry, say);
    removeAbandoned(cacheDir);
    try {
      cached = !opts.force && existsSync(join(entry, MANIFEST_NAME)); // another process built it meanwhile
      if (!cached) await buildInto(entry, { inputs, agent, agentSha, key, compression, level, say, started });
    } finally {
      release();
    }
  }
  const manifest = JSON.parse(readFileSync(join(entry, MANIFEST_NAME), "utf8")) as HookManifest;
  install(entry, outDir, manifest, say);
  const kernel = join(outDir, KERNEL_NAME);
  const initramfs = join(outDir, INITRAMFS_NAME);
  say(`${cached ? "cached" : "built"}: ${kernel} (${mb(manifest.kernel.size)}), ${initramfs} (${mb(manifest.initramfs.size)} ${manifest.initramfs.compression}, ${mb(manifest.initramfs.uncompressedSize)} unpacked) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { kernel, initramfs, manifest, cached };
}

/** sha256 over the package versions, kernel, module list, agent, hook sources and compression. */
export function cacheKey(inputs: HookInputs, agentSha: string, compression: string, level: number): string {
  const sources = [join(HOOK_DIR, "build.ts"), join(HOOK_DIR, "cpio.ts"), join(HOOK_DIR, "image.ts"), join(HOOK_DIR, "inputs.ts"), INIT_FILE, ...walk(ROOTFS_DIR).map((p) => join(ROOTFS_DIR, p))];
  const h = createHash("sha256");
  h.update(JSON.stringify({ format: FORMAT, packages: Object.entries(inputs.packages).sort(), kernel: inputs.kernelRelease, modules: inputs.modules.map((m) => m.rel), files: inputs.files.map((f) => f.dest), agentSha, compression, level }));
  for (const s of sources) h.update(`\0${s.slice(HOOK_DIR.length)}\0`).update(readFileSync(s));
  return h.digest("hex");
}

interface BuildContext {
  inputs: HookInputs;
  agent: Uint8Array;
  agentSha: string;
  key: string;
  compression: "zstd" | "xz";
  level: number;
  say: (line: string) => void;
  started: number;
}

// Writes the archive, compresses it and fills the cache entry; renamed into place when complete.
async function buildInto(entry: string, c: BuildContext): Promise<void> {
  const tmp = `${entry}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const applets = (await run(["/bin/busybox", "--list-full"])).stdout.split("\n").filter(Boolean);
    const plan = planImage(c.inputs, c.agent, applets);
    const cpioPath = join(tmp, "initramfs.cpio");
    c.say(`writing ${plan.files.size} files, ${plan.symlinkCount} symlinks`);
    const fd = openSync(cpioPath, "w");
    let uncompressedSize: number;
    try {
      const w = cpioWriter({ write: (chunk) => writeSync(fd, chunk) });
      for (const e of plan.entries()) w.add(e);
      uncompressedSize = w.finish();
    } finally {
      closeSync(fd);
    }
    c.say(`archive ${mb(uncompressedSize)}; compressing with ${c.compression} -${c.level}`);
    const initramfs = join(tmp, INITRAMFS_NAME);
    const t0 = performance.now();
    // xz: the kernel's decoder takes only CRC32 checks (Documentation/staging/xz.rst).
    if (c.compression === "zstd") await run(["zstd", "-q", "-f", "-T0", `-${c.level}`, cpioPath, "-o", initramfs]);
    else {
      await run(["xz", "-z", "-f", "-T0", "--check=crc32", `-${c.level}`, cpioPath]);
      renameSync(`${cpioPath}.xz`, initramfs);
    }
    rmSync(cpioPath, { force: true });
    c.say(`compressed to ${mb(statSync(initramfs).size)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const kernel = join(tmp, KERNEL_NAME);
    copyFileSync(c.inputs.kernelImage, kernel);

    const kernelBytes = readFileSync(kernel);
    const initrdBytes = readFileSync(initramfs);
    const manifest: HookManifest = {
      format: FORMAT,
      arch: "x86_64",
      cacheKey: c.key,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((performance.now() - c.started) / 100) / 10,
      kernel: { release: c.inputs.kernelRelease, file: KERNEL_NAME, size: kernelBytes.length, sha256: sha256(kernelBytes) },
      initramfs: { file: INITRAMFS_NAME, compression: c.compression, level: c.level, size: initrdBytes.length, uncompressedSize, sha256: sha256(initrdBytes) },
      agent: { size: c.agent.length, sha256: c.agentSha },
      packages: Object.fromEntries(Object.entries(c.inputs.packages).sort()),
      modules: { loaded: c.inputs.modules.map((m) => m.name), builtin: c.inputs.builtinModules, missing: c.inputs.missingModules },
      files: Object.fromEntries([...plan.files].sort(([a], [b]) => a.localeCompare(b))),
      symlinks: plan.symlinkCount,
    };
    writeFileSync(join(tmp, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + "\n");
    rmSync(entry, { recursive: true, force: true });
    renameSync(tmp, entry);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Copies the entry's files into outDir (each renamed into place: wispd may be serving the old
// ones), unless outDir already holds this build.
function install(entry: string, outDir: string, manifest: HookManifest, say: (line: string) => void): void {
  mkdirSync(outDir, { recursive: true });
  const current = join(outDir, MANIFEST_NAME);
  const same =
    existsSync(current) &&
    (JSON.parse(readFileSync(current, "utf8")) as HookManifest).cacheKey === manifest.cacheKey &&
    [[KERNEL_NAME, manifest.kernel.size], [INITRAMFS_NAME, manifest.initramfs.size]].every(([f, size]) => existsSync(join(outDir, f as string)) && statSync(join(outDir, f as string)).size === size);
  if (same) return say(`${outDir} already holds this build`);
  for (const name of [KERNEL_NAME, INITRAMFS_NAME, MANIFEST_NAME]) {
    const tmp = join(outDir, `.${name}.tmp-${process.pid}`);
    copyFileSync(join(entry, name), tmp);
    renameSync(tmp, join(outDir, name));
  }
}

// One builder per cache key across processes: a lock directory holding the builder's pid. A lock
// whose process is gone is taken over.
async function lock(entry: string, say: (line: string) => void): Promise<() => void> {
  const dir = `${entry}.lock`;
  mkdirSync(join(entry, ".."), { recursive: true });
  const deadline = performance.now() + LOCK_WAIT_MS;
  for (let told = false; ; ) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, "pid"), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const pid = Number(existsSync(join(dir, "pid")) ? readFileSync(join(dir, "pid"), "utf8") : NaN);
    if (Number.isInteger(pid) && !alive(pid)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (existsSync(join(entry, MANIFEST_NAME))) return () => {};
    if (!told) (say(`waiting for process ${pid} building the same image`), (told = true));
    if (performance.now() > deadline) throw new Error(`${dir}: still locked by process ${pid} after ${LOCK_WAIT_MS / 60_000} min`);
    await Bun.sleep(1000);
  }
}

// Half-written entries (`<key>.tmp-<pid>`, hundreds of MiB) of builds whose process is gone.
function removeAbandoned(cacheDir: string): void {
  for (const name of readdirSync(cacheDir)) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (m && !alive(Number(m[1]))) rmSync(join(cacheDir, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Builds dist/wisp-agent (`npm run build:agent`'s command) when it is missing or older than its sources. */
export async function ensureAgent(say: (line: string) => void): Promise<void> {
  const sources = [...walk(join(ROOT, "agent")).map((p) => join(ROOT, "agent", p)), ...walk(join(ROOT, "daemon", "grpc")).filter((p) => p.endsWith(".proto")).map((p) => join(ROOT, "daemon", "grpc", p)), join(ROOT, "package-lock.json")];
  const newest = Math.max(...sources.filter(existsSync).map((s) => statSync(s).mtimeMs));
  if (existsSync(AGENT_BINARY) && statSync(AGENT_BINARY).mtimeMs >= newest) return;
  say(`building ${AGENT_BINARY} (bun build --compile agent/main.ts)`);
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  const tmp = `${AGENT_BINARY}.tmp-${process.pid}`;
  try {
    // Never stripped: a compiled bun binary carries its bundle after the ELF sections.
    await runIn(ROOT, [process.execPath, "build", "--compile", "agent/main.ts", "--outfile", tmp]);
    renameSync(tmp, AGENT_BINARY);
  } finally {
    rmSync(tmp, { force: true });
  }
}

async function runIn(cwd: string, argv: string[]): Promise<void> {
  const proc = Bun.spawn(argv, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (exit ${code}): ${err.trim() || out.trim()}`);
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

const HELP = `usage: bun hook/build.ts [options]   (npm run hook:build)

Builds the Hook for x86_64 from this Debian host's packages: the kernel of linux-image-cloud-amd64
and its modules, busybox-static, docker.io (dockerd, docker-proxy), containerd, runc, tini
(docker-init), iptables (legacy) and their libraries, plus dist/wisp-agent (built first when
missing or older than agent/). Writes vmlinuz-x86_64, initramfs-x86_64 and ${MANIFEST_NAME}.
A build is cached under a key of the package versions, the agent's hash and the hook sources;
with nothing changed a second run takes seconds.

options:
  --out DIR            where the files go (default ${relativeToRoot(DEFAULT_OUT_DIR)}: wispd's --artifacts-dir)
  --cache-dir DIR      finished builds by key (default ${relativeToRoot(DEFAULT_CACHE_DIR)})
  --agent FILE         the wisp-agent binary to ship as is (default dist/wisp-agent, built when stale)
  --kernel-release R   a kernel release installed here (default: linux-image-cloud-amd64's)
  --module NAME        load this module too (with its dependencies); repeatable
  --compress zstd|xz   initramfs compression (default zstd; the Debian kernel reads both)
  --level N            compression level (default ${DEFAULT_ZSTD_LEVEL} for zstd, 9 for xz)
  --force              build even when the cache holds this key
  --quiet              no progress lines
  -h, --help           this text`;

function relativeToRoot(p: string): string {
  return `./${p.slice(ROOT.length + 1)}`;
}

/** Parses the CLI's argv; throws naming the bad option. */
export function parseArgs(argv: string[]): (BuildOptions & { help?: boolean; quiet?: boolean }) {
  const o: BuildOptions & { help?: boolean; quiet?: boolean } = { outDir: DEFAULT_OUT_DIR, extraModules: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "-h" || a === "--help") o.help = true;
    else if (a === "--out") o.outDir = value();
    else if (a === "--cache-dir") o.cacheDir = value();
    else if (a === "--agent") o.agentBinary = value();
    else if (a === "--kernel-release") o.kernelRelease = value();
    else if (a === "--module") o.extraModules!.push(value());
    else if (a === "--compress") {
      const v = value();
      if (v !== "zstd" && v !== "xz") throw new Error(`--compress: expected zstd or xz, got "${v}"`);
      o.compression = v;
    } else if (a === "--level") {
      const v = value();
      if (!/^\d{1,2}$/.test(v)) throw new Error(`--level: expected a number, got "${v}"`);
      o.level = Number(v);
    } else if (a === "--force") o.force = true;
    else if (a === "--quiet") o.quiet = true;
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  return o;
}

if (import.meta.main) {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`hook/build.ts: ${(e as Error).message}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(HELP);
    process.exit(0);
  }
  const t0 = performance.now();
  const progress = opts.quiet ? undefined : (line: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] hook: ${line}`);
  try {
    const r = await build({ ...opts, onProgress: progress });
    console.log(JSON.stringify({ kernel: r.kernel, initramfs: r.initramfs, cached: r.cached, kernelSize: r.manifest.kernel.size, initramfsSize: r.manifest.initramfs.size, uncompressedSize: r.manifest.initramfs.uncompressedSize }));
  } catch (e) {
    console.error(`hook/build.ts: ${(e as Error).message}`);
    process.exit(1);
  }
}
