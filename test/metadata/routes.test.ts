/**
 * The metadata routes on a real socket over an in-memory lookup: which machine answers (source
 * address, X-Forwarded-For from trusted and untrusted peers, curl binding 127.0.0.1 or
 * 127.0.0.2), refusals (unknown address 404, an address two Hardware claim 409), the instance-id
 * prefix bound to the client address, content types, metrics, and logs that never carry
 * user-data or keys.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { parseCidr, type Cidr } from "../../daemon/http/client-address.ts";
import { createMetricsRegistry } from "../../daemon/lib/metrics.ts";
import type { HardwareSpec } from "../../daemon/manifest/types.ts";
import { metadataRoutes, type MetadataSource } from "../../daemon/metadata/routes.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";

const SECRET_USER_DATA = "#cloud-config\npassword: hunter2-user-data-secret\n";
const SECRET_KEY = "ssh-ed25519 AAAAsecretkeymaterial m1-key";

const ip = (text: string): number => (parseIpv4(text) as { ok: true; value: number }).value;
const hw = (name: string, spec: HardwareSpec): MetadataSource => ({ namespace: "default", name, spec });

const M1 = hw("m1", { userData: SECRET_USER_DATA, metadata: { instance: { id: "i-m1", hostname: "m1", ssh_keys: [SECRET_KEY] } } });
const M2 = hw("m2", { userData: "m2 data", metadata: { instance: { id: "i-m2", hostname: "m2" } } });
const TWIN_A = hw("twin-a", { userData: "a", metadata: { instance: { id: "i-a", hostname: "a" } } });
const TWIN_B = hw("twin-b", { userData: "b", metadata: { instance: { id: "i-b", hostname: "b" } } });
const CLAIMS = new Map<number, MetadataSource[]>([
  [ip("127.0.0.1"), [M1]],
  [ip("10.9.8.7"), [M2]],
  [ip("10.0.0.2"), [TWIN_A, TWIN_B]],
]);

async function curl(args: string[]): Promise<{ status: number; type: string; body: string }> {
  const p = Bun.spawn(["curl", "-s", "-o", "-", "-w", "\n%{http_code} %{content_type}", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  if (code !== 0) throw new Error(`curl ${args.join(" ")}: exit ${code}`);
  const nl = out.lastIndexOf("\n");
  const [status, type] = out.slice(nl + 1).split(" ");
  return { status: Number(status), type: type ?? "", body: out.slice(0, nl) };
}

describe("metadata routes", () => {
  const logs: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const metrics = createMetricsRegistry();
  let server: { stop(): unknown; port: number } | undefined;
  let base = "";

  beforeAll(() => {
    const logger = pino({ level: "debug" }, { write: (line: string) => void (lines.push(line), logs.push(JSON.parse(line))) });
    const trustedProxies: Cidr[] = [(parseCidr("127.0.0.2/32") as { ok: true; value: Cidr }).value];
    const app = metadataRoutes({ lookup: { hardwareByIp: (a) => CLAIMS.get(a) ?? [] }, trustedProxies, logger, metrics });
    app.listen({ hostname: "127.0.0.1", port: 0 });
    server = { stop: () => app.stop(), port: app.server!.port! };
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => void server?.stop());

  test("by source address: 127.0.0.1 is m1; text/plain; listings and leaves", async () => {
    const id = await curl([`${base}/latest/meta-data/instance-id`]);
    expect(id).toEqual({ status: 200, type: "text/plain;", body: "i-m1" });
    expect((await curl([`${base}/2009-04-04/user-data`])).body).toBe(SECRET_USER_DATA);
    expect((await curl([`${base}/2009-04-04`])).body).toBe("meta-data/\nuser-data");
    expect((await curl([`${base}/2009-04-04/meta-data/public-keys/`])).body).toBe("0=m1-key");
    expect((await curl([`${base}/nocloud/meta-data`])).body).toContain('instance-id: "i-m1"');
    const json = await curl([`${base}/metadata`]);
    expect([json.status, json.type]).toEqual([200, "application/json"]);
    expect(JSON.parse(json.body).metadata.instance.id).toBe("i-m1");
    expect((await curl([`${base}/latest/meta-data/nope`])).status).toBe(404);
  });

  test("X-Forwarded-For decides only through a trusted proxy", async () => {
    const xff = ["-H", "X-Forwarded-For: 10.9.8.7"];
    expect((await curl(["--interface", "127.0.0.2", ...xff, `${base}/latest/meta-data/instance-id`])).body).toBe("i-m2");
    expect((await curl(["--interface", "127.0.0.1", ...xff, `${base}/latest/meta-data/instance-id`])).body).toBe("i-m1");
    const proxyItself = await curl(["--interface", "127.0.0.2", `${base}/latest/meta-data/instance-id`]);
    expect(proxyItself).toMatchObject({ status: 404, body: "no Hardware has address 127.0.0.2 (interfaces[].dhcp.ip.address or metadata.instance.ips)\n" });
  });

  test("unknown address: 404 on every route, with the address in the message", async () => {
    const xff = ["--interface", "127.0.0.2", "-H", "X-Forwarded-For: 192.0.2.77"];
    for (const path of ["/latest/meta-data/", "/2009-04-04/user-data", "/nocloud/user-data", "/metadata", "/tootles/instanceID/i-m1/latest/user-data"]) {
      const r = await curl([...xff, `${base}${path}`]);
      expect([path, r.status, r.body]).toEqual([path, 404, "no Hardware has address 192.0.2.77 (interfaces[].dhcp.ip.address or metadata.instance.ips)\n"]);
    }
  });

  test("an address two Hardware claim: 409, names neither; the instance-id prefix picks one", async () => {
    const via = ["--interface", "127.0.0.2", "-H", "X-Forwarded-For: 10.0.0.2"];
    const r = await curl([...via, `${base}/latest/user-data`]);
    expect(r.status).toBe(409);
    expect(r.body).not.toContain("twin");
    expect((await curl([...via, `${base}/tootles/instanceID/i-b/latest/user-data`])).body).toBe("b");
    expect((await curl([...via, `${base}/tootles/instanceID/i-a/2009-04-04/meta-data/hostname`])).body).toBe("a");
    expect((await curl([...via, `${base}/tootles/instanceID/i-a/nocloud/user-data`])).body).toBe("a");
    expect(logs.find((l) => l.msg === "metadata refused" && l.reason === "ambiguous-address")).toMatchObject({ level: 40, hardware: ["default/twin-a", "default/twin-b"] });
  });

  test("the instance-id prefix never reaches another machine: m1 asking for m2's id gets 404", async () => {
    const r = await curl([`${base}/tootles/instanceID/i-m2/latest/user-data`]);
    expect([r.status, r.body]).toEqual([404, 'no Hardware with address 127.0.0.1 has instance id "i-m2"\n']);
    const nowhere = await curl([`${base}/tootles/instanceID/i-nonexistent/latest/user-data`]);
    expect(nowhere.body).toBe('no Hardware with address 127.0.0.1 has instance id "i-nonexistent"\n');
    expect((await curl([`${base}/tootles/instanceID/i-m1/latest/meta-data/instance-id/`])).body).toBe("i-m1");
    expect(JSON.parse((await curl([`${base}/tootles/instanceID/i-m1/metadata`])).body).metadata.instance.hostname).toBe("m1");
    expect((await curl([`${base}/tootles/instanceID/i-m1/other/x`])).status).toBe(404);
  });

  test("metrics count by route and status", () => {
    expect(metrics.value("wisp_metadata_requests_total", { route: "ec2", status: "200" })).toBeGreaterThan(0);
    expect(metrics.value("wisp_metadata_requests_total", { route: "ec2", status: "409" })).toBe(1);
    expect(metrics.value("wisp_metadata_requests_total", { route: "instance-id", status: "404" })).toBeGreaterThanOrEqual(3);
    expect(metrics.value("wisp_metadata_requests_total", { route: "metadata", status: "200" })).toBe(1);
  });

  test("logs: peer, hardware and path at debug; never user-data or keys", () => {
    expect(logs.find((l) => l.msg === "metadata served" && l.path === "/2009-04-04/user-data")).toMatchObject({ level: 20, peer: "127.0.0.1", hardware: "default/m1" });
    expect(logs.find((l) => l.msg === "metadata refused" && l.peer === "192.0.2.77")).toMatchObject({ level: 30, reason: "unknown-address", via: "x-forwarded-for" });
    const all = lines.join("");
    for (const secret of ["hunter2", "secretkeymaterial", "m2 data"]) expect(all).not.toContain(secret);
  });
});
