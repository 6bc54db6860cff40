/**
 * The boot paths of a real wispd, with curl: the iPXE script by MAC and by source address
 * (127.0.0.1 is a Hardware's address), X-Forwarded-For from a trusted and an untrusted peer
 * (curl binds 127.0.0.2 or 127.0.0.1), Debian's iPXE binaries, artifacts with ranges,
 * conditional requests and HEAD, traversal attempts, content types, logs and metrics.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pgliteDataDir } from "../support/pglite.ts";
import { startWispd, wispdGrpcPort, type WispdHandle } from "../support/processes.ts";
import { checkIpxeScript } from "./ipxe-model.ts";

const PUBLIC_IP = "10.1.2.3";
/** Debian's `ipxe` package. */
const IPXE_DIR = "/usr/lib/ipxe";
const KERNEL_SIZE = 300_000;

const HARDWARE = `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: {name: m1, namespace: default}
spec:
  agentID: agent-1
  metadata: {facility: {facility_code: lab1}}
  interfaces:
    - dhcp: {mac: "52:54:00:00:00:01", arch: x86_64, uefi: true, vlan_id: "42"}
      netboot: {allowPXE: true, osie: {kernelParams: ["sshd=1"]}}
---
apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: {name: loopback, namespace: default}
spec:
  interfaces:
    - dhcp: {mac: "52:54:00:00:00:02", arch: arm64, ip: {address: 127.0.0.1, netmask: 255.0.0.0}}
      netboot: {allowPXE: true}
---
apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: {name: behind-proxy, namespace: default}
spec:
  interfaces:
    - dhcp: {mac: "52:54:00:00:00:03", arch: x86_64, ip: {address: 10.9.8.7, netmask: 255.255.255.0}}
      netboot: {allowPXE: true}
---
apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: {name: no-pxe, namespace: default}
spec:
  interfaces:
    - dhcp: {mac: "52:54:00:00:00:04"}
      netboot: {allowPXE: false}
`;

interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

async function curl(args: string[]): Promise<CurlResult> {
  const dir = mkdtempSync(join(tmpdir(), "wisp-curl-"));
  try {
    const p = Bun.spawn(["curl", "-s", "-D", join(dir, "h"), "-o", join(dir, "b"), ...args], { stdout: "ignore", stderr: "pipe" });
    const code = await p.exited;
    if (code !== 0) throw new Error(`curl ${args.join(" ")} exited ${code}: ${await new Response(p.stderr).text()}`);
    const head = readFileSync(join(dir, "h"), "utf8").trim().split(/\r?\n/);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(":");
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const body = existsSync(join(dir, "b")) ? readFileSync(join(dir, "b")) : Buffer.alloc(0);
    return { status: Number(head[0]!.split(" ")[1]), headers, body, text: body.toString("utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A HEAD request on a raw socket, read until the server closes: curl -I never reads a body, so
 * only this shows that none is sent. Returns the status, headers and whatever followed them.
 */
async function rawHead(port: number, path: string, extra: string[] = []): Promise<{ status: number; headers: Record<string, string>; after: string }> {
  let received = "";
  const { promise: closed, resolve } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data: (_s, chunk) => void (received += chunk.toString("latin1")), close: () => resolve(), error: () => resolve() },
  });
  socket.write([`HEAD ${path} HTTP/1.1`, "Host: wisp", "Connection: close", ...extra, "", ""].join("\r\n"));
  await closed;
  const end = received.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = received.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) headers[line.slice(0, line.indexOf(":")).toLowerCase()] = line.slice(line.indexOf(":") + 1).trim();
  return { status: Number(statusLine!.split(" ")[1]), headers, after: received.slice(end + 4) };
}

describe("boot HTTP paths of wispd", () => {
  let wispd: WispdHandle;
  // The script names the workflow service at the port it really listens on (test wispds use any free port).
  let grpcPort: number;
  let dataDir: string;
  let remove = () => {};
  let kernel: Buffer;
  const url = (path: string) => `${wispd.url}${path}`;
  const script = (mac?: string) => url(mac === undefined ? "/ipxe/script/auto.ipxe" : `/ipxe/script/${mac}/auto.ipxe`);

  beforeAll(async () => {
    if (!existsSync(join(IPXE_DIR, "undionly.kpxe"))) throw new Error(`${IPXE_DIR}/undionly.kpxe missing: apt-get install ipxe`);
    ({ dataDir, remove } = await pgliteDataDir());
    const artifacts = join(dataDir, "artifacts");
    mkdirSync(join(artifacts, "hook"), { recursive: true });
    kernel = Buffer.from(crypto.getRandomValues(new Uint8Array(KERNEL_SIZE)));
    writeFileSync(join(artifacts, "vmlinuz-x86_64"), kernel);
    writeFileSync(join(artifacts, "hook", "initramfs-x86_64"), "initramfs bytes");
    writeFileSync(join(artifacts, "menu.ipxe"), "#!ipxe\necho menu\n");
    writeFileSync(join(artifacts, "empty.img"), "");
    symlinkSync(join(dataDir, "api-token"), join(artifacts, "escape")); // out of the directory
    symlinkSync("vmlinuz-x86_64", join(artifacts, "inside")); // stays inside: served
    wispd = await startWispd([
      "--data-dir", dataDir, "--public-ip", PUBLIC_IP, "--tftp-port", "0", "--ipxe-dir", IPXE_DIR, "--trusted-proxies", "127.0.0.2/32", "--log-level", "debug",
    ]);
    grpcPort = await wispdGrpcPort(wispd);
    const token = readFileSync(join(dataDir, "api-token"), "utf8").trim();
    const applied = await fetch(url("/api/v1/apply"), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ sources: [{ name: "hw.yaml", text: HARDWARE }] }),
    });
    expect(applied.status).toBe(200);
    // The index follows the store through notifications: wait until the last Hardware is seen.
    for (let i = 0; i < 200 && (await curl([script("52:54:00:00:00:04")])).text.includes("no Hardware"); i++) await Bun.sleep(25);
  });

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    remove();
  });

  describe("iPXE script", () => {
    test("by MAC in the path: Hook with the Hardware's kernel arguments, any MAC spelling", async () => {
      for (const mac of ["52:54:00:00:00:01", "52-54-00-00-00-01", "52:54:00:00:00:01".toUpperCase()]) {
        const r = await curl([script(mac)]);
        expect(r.status).toBe(200);
        expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
        expect(checkIpxeScript(r.text)).toEqual([]);
        expect(r.text).toContain(`\nset base-url http://${PUBLIC_IP}:${wispd.port}/artifacts\n`);
        expect(r.text).toContain("\nset arch x86_64\n");
        for (const arg of ["worker_id=agent-1", "hw_addr=52:54:00:00:00:01", `grpc_authority=${PUBLIC_IP}:${grpcPort}`, `syslog_host=${PUBLIC_IP}`, "facility=lab1", "vlan_id=42", "tinkerbell_tls=false", " sshd=1 "]) {
          expect(r.text).toContain(arg);
        }
      }
      const served = wispd.logs.find((l) => l.msg === "ipxe script served" && l.mac === "52:54:00:00:00:01");
      expect(served).toMatchObject({ level: 30, hardware: "default/m1", peer: "127.0.0.1", source: "hook" });
    });

    test("by source address: 127.0.0.1 is the Hardware 'loopback' (arm64)", async () => {
      const r = await curl([script()]);
      expect(r.status).toBe(200);
      expect(r.text).toContain("hw_addr=52:54:00:00:00:02");
      expect(r.text).toContain("\nset arch aarch64\n");
    });

    test("X-Forwarded-For is believed from a trusted proxy only", async () => {
      const xff = ["-H", "X-Forwarded-For: 10.9.8.7"];
      const trusted = await curl(["--interface", "127.0.0.2", ...xff, script()]);
      expect(trusted.status).toBe(200);
      expect(trusted.text).toContain("hw_addr=52:54:00:00:00:03");
      const untrusted = await curl(["--interface", "127.0.0.1", ...xff, script()]);
      expect(untrusted.text).toContain("hw_addr=52:54:00:00:00:02");
      const proxyItself = await curl(["--interface", "127.0.0.2", script()]);
      expect(proxyItself.status).toBe(404);
      expect(proxyItself.text).toContain("echo Wisp: no Hardware has address 127.0.0.2");
      expect(wispd.logs.find((l) => l.msg === "ipxe script served" && l.mac === "52:54:00:00:00:03")).toMatchObject({ peer: "10.9.8.7", via: "x-forwarded-for" });
    });

    test("refusals: unknown MAC and allowPXE false are 404 with the reason; a bad MAC is 400", async () => {
      const unknown = await curl([script("aa:bb:cc:dd:ee:ff")]);
      expect(unknown.status).toBe(404);
      expect(unknown.text).toBe("#!ipxe\n# Wisp: no Hardware has MAC aa:bb:cc:dd:ee:ff\necho Wisp: no Hardware has MAC aa:bb:cc:dd:ee:ff\nexit 1\n");
      const noPxe = await curl([script("52:54:00:00:00:04")]);
      expect(noPxe.status).toBe(404);
      expect(noPxe.text).toContain("netboot.allowPXE is false for default/no-pxe (52:54:00:00:00:04)");
      expect((await curl([script("not-a-mac")])).status).toBe(400);
      expect(wispd.logs.find((l) => l.msg === "ipxe script refused" && l.reason === "pxe-not-allowed")).toMatchObject({ mac: "52:54:00:00:00:04", hardware: "default/no-pxe" });
    });

    test("HEAD: the headers of GET, no body", async () => {
      const get = await curl([script("52:54:00:00:00:01")]);
      const head = await rawHead(wispd.port, "/ipxe/script/52:54:00:00:00:01/auto.ipxe");
      expect([head.status, head.headers["content-length"], head.headers["content-type"], head.after]).toEqual([200, String(get.body.length), get.headers["content-type"], ""]);
    });

    test("no token needed, and the API still wants one", async () => {
      expect((await curl([url("/api/v1/hardware")])).status).toBe(401);
    });
  });

  describe("iPXE binaries", () => {
    test("Debian's binaries by name, with or without a MAC; octet-stream; a symlink into /boot is followed in the iPXE directory", async () => {
      for (const [path, file] of [
        ["/ipxe/binary/undionly.kpxe", "undionly.kpxe"],
        ["/ipxe/binary/52:54:00:00:00:01/ipxe.efi", "ipxe.efi"],
        ["/ipxe/binary/snponly.efi", "snponly.efi"],
      ] as const) {
        const r = await curl([url(path)]);
        expect(r.status).toBe(200);
        expect(r.headers["content-type"]).toBe("application/octet-stream");
        expect(r.body.equals(readFileSync(join(IPXE_DIR, file)))).toBe(true);
      }
    });

    test("Range and HEAD", async () => {
      const whole = readFileSync(join(IPXE_DIR, "undionly.kpxe"));
      const part = await curl(["-H", "Range: bytes=0-63", url("/ipxe/binary/undionly.kpxe")]);
      expect(part.status).toBe(206);
      expect(part.headers["content-range"]).toBe(`bytes 0-63/${whole.length}`);
      expect(part.body.equals(whole.subarray(0, 64))).toBe(true);
      const head = await rawHead(wispd.port, "/ipxe/binary/undionly.kpxe");
      expect([head.status, head.headers["content-length"], head.after]).toEqual([200, String(whole.length), ""]);
    });

    test("missing, traversal and bad MAC", async () => {
      expect((await curl([url("/ipxe/binary/nope.efi")])).status).toBe(404);
      expect((await curl([url("/ipxe/binary/%2e%2e%2fapi-token")])).status).toBe(400);
      expect((await curl([url("/ipxe/binary/zz/undionly.kpxe")])).status).toBe(400);
      expect((await curl([url("/ipxe/binary/a/b/undionly.kpxe")])).status).toBe(400);
    });
  });

  describe("artifacts", () => {
    const kernelUrl = () => url("/artifacts/vmlinuz-x86_64");

    test("whole file, octet-stream, validators", async () => {
      const r = await curl([kernelUrl()]);
      expect(r.status).toBe(200);
      expect(r.body.equals(kernel)).toBe(true);
      expect(r.headers).toMatchObject({ "content-type": "application/octet-stream", "content-length": String(KERNEL_SIZE), "accept-ranges": "bytes" });
      expect(r.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
      expect(Date.parse(r.headers["last-modified"]!)).toBeGreaterThan(0);
      const sub = await curl([url("/artifacts/hook/initramfs-x86_64")]);
      expect([sub.status, sub.text]).toEqual([200, "initramfs bytes"]);
      expect((await curl([url("/artifacts/menu.ipxe")])).headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect((await curl([url("/artifacts/nope")])).status).toBe(404);
    });

    test("ranges: single, open, suffix, unsatisfiable, several", async () => {
      const single = await curl(["-H", "Range: bytes=100-199", kernelUrl()]);
      expect([single.status, single.headers["content-range"], single.headers["content-length"]]).toEqual([206, `bytes 100-199/${KERNEL_SIZE}`, "100"]);
      expect(single.body.equals(kernel.subarray(100, 200))).toBe(true);
      const open = await curl(["-H", `Range: bytes=${KERNEL_SIZE - 1000}-`, kernelUrl()]);
      expect([open.status, open.headers["content-range"]]).toEqual([206, `bytes ${KERNEL_SIZE - 1000}-${KERNEL_SIZE - 1}/${KERNEL_SIZE}`]);
      expect(open.body.equals(kernel.subarray(KERNEL_SIZE - 1000))).toBe(true);
      const suffix = await curl(["-H", "Range: bytes=-500", kernelUrl()]);
      expect([suffix.status, suffix.body.length]).toEqual([206, 500]);
      expect(suffix.body.equals(kernel.subarray(KERNEL_SIZE - 500))).toBe(true);
      const past = await curl(["-H", `Range: bytes=${KERNEL_SIZE}-`, kernelUrl()]);
      expect([past.status, past.headers["content-range"], past.body.length]).toEqual([416, `bytes */${KERNEL_SIZE}`, 0]);
      const empty = await curl(["-H", "Range: bytes=0-", url("/artifacts/empty.img")]);
      expect([empty.status, empty.headers["content-range"]]).toEqual([416, "bytes */0"]);
      const several = await curl(["-H", "Range: bytes=0-1,5-6", kernelUrl()]);
      expect([several.status, several.body.length]).toEqual([200, KERNEL_SIZE]);
      const backwards = await curl(["-H", "Range: bytes=5-2", kernelUrl()]);
      expect([backwards.status, backwards.body.length]).toEqual([200, KERNEL_SIZE]);
    });

    test("conditional requests: 304 on a matching ETag or date; If-Range of another version gets the whole file", async () => {
      const { headers } = await curl(["-I", kernelUrl()]);
      const etag = headers.etag!;
      const inm = await curl(["-H", `If-None-Match: ${etag}`, kernelUrl()]);
      expect([inm.status, inm.body.length, inm.headers.etag]).toEqual([304, 0, etag]);
      const ims = await curl(["-H", `If-Modified-Since: ${headers["last-modified"]}`, kernelUrl()]);
      expect(ims.status).toBe(304);
      expect((await curl(["-H", 'If-None-Match: "other"', kernelUrl()])).status).toBe(200);
      const stale = await curl(["-H", "Range: bytes=0-9", "-H", 'If-Range: "old"', kernelUrl()]);
      expect([stale.status, stale.body.length]).toEqual([200, KERNEL_SIZE]);
      const fresh = await curl(["-H", "Range: bytes=0-9", "-H", `If-Range: ${etag}`, kernelUrl()]);
      expect([fresh.status, fresh.body.length]).toEqual([206, 10]);
    });

    test("HEAD: length and validators, no body, Range ignored", async () => {
      const head = await rawHead(wispd.port, "/artifacts/vmlinuz-x86_64", ["Range: bytes=0-9"]);
      expect([head.status, head.headers["content-length"], head.after]).toEqual([200, String(KERNEL_SIZE), ""]);
      expect(head.headers.etag).toMatch(/^"/);
    });

    test("traversal: .., encoded .., absolute, control characters and symlinks out are refused; the token never leaks", async () => {
      const token = readFileSync(join(dataDir, "api-token"), "utf8").trim();
      const attempts: [string[], number][] = [
        [["--path-as-is", url("/artifacts/../api-token")], 404], // normalised to /api-token before routing: no route
        [["--path-as-is", url("/artifacts/%2e%2e/api-token")], 404], // the same, per the URL standard
        [[url("/artifacts/%2e%2e%2fapi-token")], 400],
        [[url("/artifacts/hook%2f..%2f..%2fapi-token")], 400],
        [[url("/artifacts/%2fetc%2fpasswd")], 400],
        [[url("/artifacts/x%00")], 400],
        [[url("/artifacts/escape")], 404],
      ];
      for (const [args, status] of attempts) {
        const r = await curl(args);
        expect({ args, status: r.status }).toEqual({ args, status });
        expect(r.text).not.toContain(token);
      }
      const inside = await curl([url("/artifacts/inside")]);
      expect(inside.body.equals(kernel)).toBe(true);
      const refused = wispd.logs.find((l) => l.msg === "boot path refused" && l.reason === "outside-root");
      expect(refused).toMatchObject({ level: 40, path: "escape", peer: "127.0.0.1" });
    });
  });

  test("metrics count requests by route and status, bytes, and refusals by reason", async () => {
    const text = (await curl([url("/metrics")])).text;
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
    expect(value('wisp_http_boot_requests_total{route="script",status="200"}')).toBeGreaterThanOrEqual(5);
    expect(value('wisp_http_boot_requests_total{route="script",status="404"}')).toBeGreaterThanOrEqual(3);
    expect(value('wisp_http_boot_requests_total{route="artifact",status="206"}')).toBeGreaterThanOrEqual(4);
    expect(value('wisp_http_boot_requests_total{route="artifact",status="304"}')).toBeGreaterThanOrEqual(2);
    expect(value('wisp_http_boot_requests_total{route="artifact",status="416"}')).toBeGreaterThanOrEqual(2);
    expect(value('wisp_http_boot_response_bytes_total{route="artifact"}')).toBeGreaterThanOrEqual(KERNEL_SIZE);
    expect(value('wisp_http_boot_refusals_total{route="artifact",reason="outside-root"}')).toBe(1);
    expect(value('wisp_http_boot_refusals_total{route="artifact",reason="dot-segment"}')).toBe(2);
    expect(value('wisp_http_boot_refusals_total{route="artifact",reason="absolute"}')).toBe(1);
    expect(value('wisp_http_boot_refusals_total{route="binary",reason="dot-segment"}')).toBe(1);
    // The script's paths are answered by Bun's router ahead of Elysia: still counted and timed with the rest.
    expect(value('wisp_http_requests_total{group="boot",code="200"}')).toBeGreaterThanOrEqual(5);
    expect(value('wisp_http_requests_total{group="boot",code="400"}')).toBeGreaterThanOrEqual(1);
    expect(value('wisp_http_request_duration_seconds_count{group="boot",class="2xx"}')).toBeGreaterThanOrEqual(5);
  });
});
