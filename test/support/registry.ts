/**
 * A private image registry for tests: Debian's `docker-registry` (docker/distribution 2.8) on a
 * free port, by default on loopback (dockerd treats 127.0.0.0/8 as insecure by default, so plain
 * HTTP works without `--insecure-registry`), with optional htpasswd (bcrypt) auth. Images are put
 * in with the test Docker daemon (test/support/docker.ts): tag, push, untag.
 *
 * ```ts
 * await using reg = await startRegistry({ auth: { username: "wisp", password: "s3cret" } });
 * const image = await reg.push(TEST_IMAGE, "actions/hello:1"); // "127.0.0.1:PORT/actions/hello:1", gone locally
 * ```
 *
 * `host` binds another address; `ns` runs the registry inside a test namespace (netns.ts), whose
 * address the pushing dockerd may not reach: push to a loopback registry first and start the
 * namespace's one on the same `storageDir`. Everything started here is stopped and removed by
 * stop(), and also when the test process dies.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base64UrlPadded } from "../../agent/docker.ts";
import { shellQuote, whenProcessGone } from "./cleanup.ts";
import { testDocker, type TestDocker } from "./docker.ts";
import type { Netns } from "./netns.ts";

/** Debian's docker-registry (package docker-registry). */
const REGISTRY_BIN = "/usr/bin/docker-registry";
/** htpasswd from apache2-utils. */
const HTPASSWD_BIN = "/usr/bin/htpasswd";
/** How long the registry may take to answer on /v2/. */
const START_TIMEOUT_MS = 20_000;
/** Free-port picks tried when the port was taken between the pick and the bind. */
const START_ATTEMPTS = 3;

/** Options of startRegistry. */
export interface RegistryOptions {
  /** htpasswd auth (bcrypt) with this one user; none: anonymous pulls and pushes. */
  auth?: { username: string; password: string };
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Port; default a free one (picked on the host: give one when `ns` is set). */
  port?: number;
  /** Runs the registry inside this namespace. */
  ns?: Netns;
  /** Image storage to use (kept by stop()); default a temp dir removed by stop(). */
  storageDir?: string;
  /** The Docker daemon push() uses; default testDocker(). */
  docker?: TestDocker;
}

/** A running registry. */
export interface TestRegistry extends AsyncDisposable {
  /** `host:port`, as it goes in front of an image name. */
  readonly address: string;
  /** The image storage (pass as `storageDir` to serve the same images from another registry). */
  readonly storageDir: string;
  /**
   * Pushes the local `localImage` as `<address>/<repoTag>` (with the credentials when the registry
   * has auth) and removes that tag locally, so a pull must come from the registry; returns the
   * full reference.
   */
  push(localImage: string, repoTag: string): Promise<string>;
  /** Stops the registry and removes what it created. */
  stop(): Promise<void>;
}

/** Starts `docker-registry` and resolves once `/v2/` answers (200, or 401 with auth). */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  for (const [bin, pkg] of [[REGISTRY_BIN, "docker-registry"], ...(opts.auth ? [[HTPASSWD_BIN, "apache2-utils"]] : [])] as const) {
    if (!(await Bun.file(bin).exists())) throw new Error(`${bin} missing (apt-get install -y ${pkg})`);
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= (opts.port ? 1 : START_ATTEMPTS); attempt++) {
    try {
      return await startOnce(opts, opts.port ?? freeTcpPort());
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

async function startOnce(opts: RegistryOptions, port: number): Promise<TestRegistry> {
  const host = opts.host ?? "127.0.0.1";
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const dir = mkdtempSync(join(tmpdir(), "wisp-registry-"));
  const storageDir = opts.storageDir ?? join(dir, "storage");
  mkdirSync(storageDir, { recursive: true });
  let htpasswd = "";
  if (opts.auth) {
    // -B: bcrypt, the only hash docker/distribution accepts.
    const r = Bun.spawnSync([HTPASSWD_BIN, "-Bbn", opts.auth.username, opts.auth.password]);
    if (r.exitCode !== 0) throw new Error(`htpasswd: ${r.stderr.toString()}`);
    writeFileSync(join(dir, "htpasswd"), r.stdout.toString());
    htpasswd = `auth:\n  htpasswd:\n    realm: wisp-test\n    path: ${join(dir, "htpasswd")}\n`;
  }
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${storageDir}\n  delete:\n    enabled: true\nhttp:\n  addr: ${address}\n${htpasswd}`,
  );
  const argv = [REGISTRY_BIN, "serve", config];
  const log = join(dir, "registry.log");
  const proc = opts.ns ? opts.ns.spawn(argv) : Bun.spawn(argv, { stdout: "ignore", stderr: Bun.file(log) });
  if (opts.ns) {
    // Drained, so a full pipe never blocks the registry.
    void new Response(proc.stdout as ReadableStream).text();
    void new Response(proc.stderr as ReadableStream).text();
  }
  const logText = async () => (opts.ns ? "" : readFileSync(log, "utf8").slice(-2000));
  // The registry goes with the test process in any case; its temp dir with it.
  whenProcessGone(`kill -9 ${proc.pid} 2>/dev/null; rm -rf ${shellQuote(dir)}`);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    proc.kill("SIGKILL");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(address, opts.ns))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      const why = proc.exitCode !== null ? `exited with code ${proc.exitCode}` : `did not answer within ${START_TIMEOUT_MS} ms`;
      const text = await logText();
      await stop();
      throw new Error(`docker-registry on ${address} ${why}: ${text}`);
    }
    await Bun.sleep(100);
  }

  const authHeader = opts.auth
    ? { "x-registry-auth": base64UrlPadded(JSON.stringify({ username: opts.auth.username, password: opts.auth.password, serveraddress: address })) }
    : undefined;
  return {
    address,
    storageDir,
    async push(localImage, repoTag) {
      const docker = opts.docker ?? (await testDocker());
      const colon = repoTag.lastIndexOf(":");
      const [repo, tag] = colon > repoTag.lastIndexOf("/") ? [repoTag.slice(0, colon), repoTag.slice(colon + 1)] : [repoTag, "latest"];
      const ref = `${address}/${repo}:${tag}`;
      const tagged = await docker.api("POST", `/images/${encodeURIComponent(localImage)}/tag?${new URLSearchParams({ repo: `${address}/${repo}`, tag })}`);
      if (!tagged.ok) throw new Error(`docker tag ${localImage} ${ref}: ${tagged.status} ${await tagged.text()}`);
      await tagged.body?.cancel();
      const pushed = await fetch(`http://docker/images/${encodeURIComponent(`${address}/${repo}`)}/push?tag=${encodeURIComponent(tag)}`, {
        method: "POST",
        unix: docker.socket,
        // Docker wants the header even for a registry without auth.
        headers: authHeader ?? { "x-registry-auth": base64UrlPadded("{}") },
      } as RequestInit);
      const text = await pushed.text();
      if (!pushed.ok || text.includes('"error"')) throw new Error(`docker push ${ref}: ${pushed.status} ${text.slice(-1000)}`);
      const untagged = await docker.api("DELETE", `/images/${encodeURIComponent(ref)}`);
      if (!untagged.ok) throw new Error(`docker rmi ${ref}: ${untagged.status} ${await untagged.text()}`);
      await untagged.body?.cancel();
      return ref;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Whether the registry's API root answers (401 counts: the registry is up, asking for credentials). */
async function answers(address: string, ns?: Netns): Promise<boolean> {
  if (ns) {
    const r = await ns.exec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", `http://${address}/v2/`], { timeoutMs: 5_000 });
    return r.stdout === "200" || r.stdout === "401";
  }
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

/** A free loopback TCP port (bound and released; startRegistry tries again if it is taken meanwhile). */
function freeTcpPort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}
