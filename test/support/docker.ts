/**
 * A Docker daemon for the agent's tests: the one answering on /var/run/docker.sock when there is
 * one, else a private dockerd (Debian's docker.io) with its data in a temp dir, no bridge and no
 * iptables rules, stopped and removed when the test process ends. Images come from `docker
 * import` of a busybox-static rootfs (no registry is needed). Waits are bounded.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote, whenProcessGone } from "./cleanup.ts";

/** The socket a running Docker answers on by default. */
const DEFAULT_SOCKET = "/var/run/docker.sock";
/** How long a private dockerd may take to answer. */
const START_TIMEOUT_MS = 30_000;
/** The image the tests run, imported from busybox-static. */
export const TEST_IMAGE = "wisp-test/busybox:1";
/** Where Debian's busybox-static (or busybox, also static on amd64) installs the binary. */
const BUSYBOX = "/bin/busybox";
const APPLETS = ["sh", "echo", "sleep", "cat", "env", "ls", "printenv"];

export interface TestDocker {
  socket: string;
  /** Whether privileged containers work here (not in a container missing capabilities). */
  privileged: boolean;
  /** Engine API call over the socket. */
  api(method: string, path: string, body?: unknown): Promise<Response>;
}

let prepared: Promise<TestDocker> | undefined;

/** The test Docker daemon with TEST_IMAGE present (started and imported once per test process). */
export function testDocker(): Promise<TestDocker> {
  return (prepared ??= prepare());
}

const answers = async (socket: string): Promise<boolean> => {
  try {
    const res = await fetch("http://docker/_ping", { unix: socket, signal: AbortSignal.timeout(2_000) } as RequestInit);
    return res.ok;
  } catch {
    return false;
  }
};

async function prepare(): Promise<TestDocker> {
  const socket = (await answers(DEFAULT_SOCKET)) ? DEFAULT_SOCKET : await startPrivateDockerd().catch(retryOnce);
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`http://docker${path}`, {
      method,
      unix: socket,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    } as RequestInit);
  await importTestImage(socket);
  return { socket, privileged: await privilegedWorks(api), api };
}

// A dockerd of a run that just ended may still be releasing what it held (seen once: the new one
// gave up within 2 s); one more start, after a pause, tells that from a real failure.
async function retryOnce(first: unknown): Promise<string> {
  console.error(`test/support/docker: dockerd failed to start, retrying once: ${(first as Error).message}`);
  await Bun.sleep(2_000);
  return startPrivateDockerd();
}

async function startPrivateDockerd(): Promise<string> {
  if (!existsSync("/usr/sbin/dockerd")) throw new Error("no Docker daemon answers and dockerd is not installed (apt-get install -y docker.io)");
  const dir = mkdtempSync(join(tmpdir(), "wisp-dockerd-"));
  const socket = join(dir, "docker.sock");
  const pidfile = join(dir, "dockerd.pid");
  const proc = Bun.spawn(
    ["dockerd", "--data-root", join(dir, "root"), "--exec-root", join(dir, "exec"), "--pidfile", pidfile, "-H", `unix://${socket}`, "--bridge", "none", "--iptables=false", "--ip6tables=false"],
    { stdout: "ignore", stderr: Bun.file(join(dir, "dockerd.log")) },
  );
  proc.unref();
  // dockerd and its containerd go with the test process; then the data dir (overlay mounts first).
  whenProcessGone(
    `kill ${proc.pid} 2>/dev/null; for i in $(seq 50); do kill -0 ${proc.pid} 2>/dev/null || break; sleep 0.2; done; kill -9 ${proc.pid} 2>/dev/null; ` +
      `grep -o ${shellQuote(dir)}'[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null; rm -rf ${shellQuote(dir)}`,
  );
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(socket))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      const log = existsSync(join(dir, "dockerd.log")) ? readFileSync(join(dir, "dockerd.log"), "utf8").slice(-2000) : "";
      throw new Error(`dockerd did not answer on ${socket} within ${START_TIMEOUT_MS} ms: ${log}`);
    }
    await Bun.sleep(100);
  }
  return socket;
}

/** `docker import` of a tiny rootfs: busybox and a few applet links. */
async function importTestImage(socket: string): Promise<void> {
  const present = await fetch(`http://docker/images/${encodeURIComponent(TEST_IMAGE)}/json`, { unix: socket } as RequestInit);
  await present.body?.cancel();
  if (present.ok) return;
  await importBusybox(socket, TEST_IMAGE, APPLETS);
  // On a shared daemon the image goes with the test process (a private one goes whole).
  if (socket === DEFAULT_SOCKET) whenProcessGone(`curl -s -X DELETE --unix-socket ${DEFAULT_SOCKET} 'http://docker/images/${TEST_IMAGE}?force=1' >/dev/null`);
}

/** `docker import` through the Engine API of a rootfs holding busybox (with /tmp) as `image`, with `applets` linked to it. */
export async function importBusybox(socket: string, image: string, applets: readonly string[]): Promise<void> {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} missing (apt-get install -y busybox-static)`);
  const dir = mkdtempSync(join(tmpdir(), "wisp-rootfs-"));
  try {
    mkdirSync(join(dir, "bin"));
    mkdirSync(join(dir, "tmp"));
    copyFileSync(BUSYBOX, join(dir, "bin", "busybox"));
    Bun.spawnSync(["chmod", "755", join(dir, "bin", "busybox")]);
    for (const a of applets) symlinkSync("busybox", join(dir, "bin", a));
    const tar = Bun.spawnSync(["tar", "-C", dir, "-c", "."]);
    if (tar.exitCode !== 0) throw new Error(`tar: ${tar.stderr.toString()}`);
    const [repo, tag] = image.split(":");
    const res = await fetch(`http://docker/images/create?fromSrc=-&repo=${encodeURIComponent(repo!)}&tag=${tag}`, {
      method: "POST",
      unix: socket,
      headers: { "content-type": "application/x-tar" },
      body: tar.stdout,
    } as RequestInit);
    const text = await res.text();
    if (!res.ok || text.includes('"error"')) throw new Error(`docker import ${image}: ${res.status} ${text}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a privileged container starts (a container host may lack capabilities runc then asks for). */
async function privilegedWorks(api: TestDocker["api"]): Promise<boolean> {
  const created = await api("POST", "/containers/create", { Image: TEST_IMAGE, Cmd: ["true"], HostConfig: { Privileged: true } });
  if (!created.ok) return false;
  const { Id } = (await created.json()) as { Id: string };
  try {
    const started = await api("POST", `/containers/${Id}/start`);
    await started.body?.cancel();
    return started.ok;
  } finally {
    await (await api("DELETE", `/containers/${Id}?force=1`)).body?.cancel();
  }
}

/** Ids of containers made from TEST_IMAGE (running or not). */
export async function testContainers(docker: TestDocker): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ ancestor: [TEST_IMAGE] }));
  const res = await docker.api("GET", `/containers/json?all=1&filters=${filters}`);
  return ((await res.json()) as { Id: string }[]).map((c) => c.Id);
}

/** Removes every container made from TEST_IMAGE (what a failed test may leave). */
export async function removeTestContainers(docker: TestDocker): Promise<void> {
  for (const id of await testContainers(docker)) await (await docker.api("DELETE", `/containers/${id}?force=1`)).body?.cancel();
}
