/**
 * cloud-init's own code (Debian's cloud-init: the EC2 crawler and the NoCloud-net datasource)
 * reading a real wispd from network namespaces: a machine whose address is a Hardware's
 * interface address, one known only by metadata.instance.ips, a stranger, and nginx as a
 * reverse proxy that wispd trusts on one source address and not on the other.
 *
 *   m1 10.77.0.10 ─┐
 *   m2 10.77.0.20 ─┤ br0 10.77.0.1 (srv: wispd, --trusted-proxies 10.77.0.2)
 *   st 10.77.0.99 ─┤
 *   px 10.77.0.2 + 10.77.0.3: nginx :8081 -> wispd from .2 (trusted), :8082 -> wispd from .3 (not)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { startWispdIn, type NsWispd } from "../dhcp/netns-wispd.ts";
import { createNetLab, execHost, IS_ROOT, requireTools, type NetLab, type Netns } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { SETUP_TIMEOUT_MS } from "../support/processes.ts";

const CLIENT = join(import.meta.dir, "cloud-init-client.py");
/** Debian's Python, for which Debian's cloud-init is installed (a python3 earlier in PATH may not see it). */
const PYTHON = "/usr/bin/python3";
const SRV = "10.77.0.1";
const PROXY_TRUSTED = "10.77.0.2";
const PROXY_UNTRUSTED = "10.77.0.3";
const ALICE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHdpc3AtdGVzdC1rZXktYWxpY2UtMDEyMzQ1Njc4OQ alice@laptop";
const OPS = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDwispopskeyforthetest";
// UTF-8, CRLF, a tab and no newline at the end: served and read back byte for byte.
const USER_DATA = "#cloud-config\r\nruncmd:\r\n\t- [echo, \"Grüße aus Wisp 🚀\"]\r\n# no newline at the end";
const VENDOR_DATA = "#cloud-config\npackages: [htop]\n";

const hardware = [
  {
    apiVersion: "tinkerbell.org/v1alpha1",
    kind: "Hardware",
    metadata: { name: "m1", namespace: "default" },
    spec: {
      interfaces: [{ dhcp: { mac: "52:54:00:77:00:10", hostname: "m1", ip: { address: "10.77.0.10", netmask: "255.255.255.0" } } }],
      userData: USER_DATA,
      vendorData: VENDOR_DATA,
      metadata: {
        facility: { plan_slug: "c3.small.x86", facility_code: "lab1" },
        instance: {
          id: "i-wisp-m1",
          hostname: "m1.lab",
          tags: ["rack-3", "gpu"],
          ssh_keys: [ALICE, OPS],
          operating_system: { slug: "debian_12", distro: "debian", version: "12", image_tag: "2024" },
        },
      },
    },
  },
  {
    apiVersion: "tinkerbell.org/v1alpha1",
    kind: "Hardware",
    metadata: { name: "m2", namespace: "default" },
    spec: {
      // No interface address: found by metadata.instance.ips alone.
      interfaces: [{ dhcp: { mac: "52:54:00:77:00:20" } }],
      userData: "#cloud-config\nhostname: m2\n",
      metadata: { instance: { id: "i-wisp-m2", hostname: "m2.lab", ips: [{ address: "10.77.0.20", family: 4, public: false }] } },
    },
  },
];

interface CloudInit {
  metadata?: Record<string, unknown>;
  userdata?: string | null;
  vendordata?: string | null;
  instance_id?: string;
  hostname?: string;
  public_keys?: string[];
  found?: boolean;
  error?: string;
  code?: number;
  warnings: string[];
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

async function cloudInit(ns: Netns, mode: "ec2" | "nocloud" | "seeded", url: string): Promise<CloudInit> {
  const out = await ns.run([PYTHON, CLIENT, mode, url], { timeoutMs: 60_000 });
  return JSON.parse(out) as CloudInit;
}

async function curlIn(ns: Netns, args: string[]): Promise<{ status: number; body: string }> {
  const out = await ns.run(["curl", "-s", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}", ...args]);
  const nl = out.lastIndexOf("\n");
  return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
}

/** nginx in `px`: :8081 proxies from the trusted address, :8082 from the untrusted one. */
function nginxConfig(dir: string, upstream: string): string {
  const server = (port: number, bind: string) => `
    server {
      listen ${PROXY_TRUSTED}:${port};
      location / {
        proxy_pass ${upstream};
        proxy_bind ${bind};
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      }
    }`;
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  ${server(8081, PROXY_TRUSTED)}
  ${server(8082, PROXY_UNTRUSTED)}
}
`;
}

describe.skipIf(!IS_ROOT)("cloud-init against wispd in network namespaces", () => {
  let lab: NetLab;
  let srv: Netns, m1: Netns, m2: Netns, st: Netns, px: Netns;
  let wispd: NsWispd;
  let remove = () => {};
  let direct = "";

  beforeAll(async () => {
    await requireTools({ [PYTHON]: "python3", curl: "curl", nginx: "nginx" });
    const probe = await execHost([PYTHON, "-c", "import cloudinit.sources.helpers.ec2, cloudinit.sources.DataSourceNoCloud"]);
    if (probe.code !== 0) throw new Error(`cloud-init's Python modules are missing (apt-get install cloud-init): ${probe.stderr.trim()}`);
    lab = await createNetLab();
    srv = await lab.namespace("srv");
    m1 = await lab.namespace("m1");
    m2 = await lab.namespace("m2");
    st = await lab.namespace("st");
    px = await lab.namespace("px");
    await lab.link({ ns: m1, name: "eth0", address: "10.77.0.10/24" }, { ns: srv, name: "p-m1" });
    await lab.link({ ns: m2, name: "eth0", address: "10.77.0.20/24" }, { ns: srv, name: "p-m2" });
    await lab.link({ ns: st, name: "eth0", address: "10.77.0.99/24" }, { ns: srv, name: "p-st" });
    await lab.link({ ns: px, name: "eth0", address: `${PROXY_TRUSTED}/24` }, { ns: srv, name: "p-px" });
    await px.run(["ip", "addr", "add", `${PROXY_UNTRUSTED}/24`, "dev", "eth0"]);
    await lab.bridge(srv, "br0", ["p-m1", "p-m2", "p-st", "p-px"], `${SRV}/24`);

    let dataDir: string;
    ({ dataDir, remove } = await pgliteDataDir());
    wispd = await startWispdIn(srv, dataDir, ["--listen-address", "0.0.0.0", "--trusted-proxies", `${PROXY_TRUSTED}/32`, "--tftp-port", "0", "--log-level", "debug"]);
    await wispd.apply(hardware.map((h) => JSON.stringify(h)).join("\n---\n"), 2);
    const port = new URL(wispd.url).port;
    direct = `http://${SRV}:${port}`;

    const dir = mkdtempSync(join(tmpdir(), "wisp-nginx-proxy-"));
    writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, direct));
    px.spawn(["nginx", "-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")]);
    for (let i = 0; (await px.exec(["curl", "-s", "-o", "/dev/null", `http://${PROXY_TRUSTED}:8082/`])).code !== 0; i++) {
      if (i > 200) throw new Error("nginx did not listen");
      await Bun.sleep(25);
    }
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    await lab?.close();
    remove();
  });

  const M1_EC2 = {
    "instance-id": "i-wisp-m1",
    hostname: "m1.lab",
    "local-hostname": "m1.lab",
    "local-ipv4": "10.77.0.10",
    "public-ipv4": "",
    "public-ipv6": "",
    iqn: "",
    plan: "c3.small.x86",
    facility: "lab1",
    tags: ["rack-3", "gpu"],
    "operating-system": { slug: "debian_12", distro: "debian", version: "12", image_tag: "2024" },
    "public-keys": { "alice@laptop": ALICE, "key-1": OPS },
  };

  test("EC2 crawler from m1: the whole meta-data tree, keys, user-data byte for byte, no warnings", async () => {
    const r = await cloudInit(m1, "ec2", direct);
    expect(r.warnings).toEqual([]);
    expect(r.metadata).toEqual(M1_EC2);
    expect(r.userdata).toBe(b64(USER_DATA));
  });

  test("NoCloud-net datasource from m1: instance id, hostname, keys, user-data and vendor-data, no warnings", async () => {
    const r = await cloudInit(m1, "nocloud", `${direct}/nocloud/`);
    expect(r.warnings).toEqual([]);
    // cloud-init keeps the short name unless asked for the FQDN.
    expect(r).toMatchObject({ found: true, instance_id: "i-wisp-m1", hostname: "m1", public_keys: [ALICE, OPS] });
    expect(r.metadata).toMatchObject({ "instance-id": "i-wisp-m1", "local-hostname": "m1.lab", "public-keys": [ALICE, OPS] });
    expect(r.userdata).toBe(b64(USER_DATA));
    expect(r.vendordata).toBe(b64(VENDOR_DATA));
  });

  test("m2 is known by metadata.instance.ips only, and reads its own data, not m1's", async () => {
    const r = await cloudInit(m2, "ec2", direct);
    expect(r.warnings).toEqual([]);
    expect(r.metadata).toMatchObject({ "instance-id": "i-wisp-m2", hostname: "m2.lab", "local-ipv4": "10.77.0.20", "public-keys": {} });
    expect(r.userdata).toBe(b64("#cloud-config\nhostname: m2\n"));
    // m2 naming m1's instance id under the instance-id prefix: still 404.
    expect((await curlIn(m2, [`${direct}/tootles/instanceID/i-wisp-m1/2009-04-04/user-data`])).status).toBe(404);
  });

  test("a stranger gets nothing: an empty crawl, no user-data, NoCloud seed 404, /metadata 404", async () => {
    const ec2 = await cloudInit(st, "ec2", direct);
    expect(ec2.metadata).toEqual({});
    expect(ec2.userdata).toBe("");
    expect(ec2.warnings).toContain(`WARNING cloudinit.sources.helpers.ec2: Failed fetching meta-data/ from url ${direct}/2009-04-04/meta-data/`);
    const seeded = await cloudInit(st, "seeded", `${direct}/nocloud/`);
    expect(seeded.code).toBe(404);
    const json = await curlIn(st, [`${direct}/metadata`]);
    expect(json).toEqual({ status: 404, body: "no Hardware has address 10.77.0.99 (interfaces[].dhcp.ip.address or metadata.instance.ips)\n" });
  });

  test("X-Forwarded-For from an untrusted peer is ignored (the stranger forging m1's address)", async () => {
    const forged = await curlIn(st, ["-H", "X-Forwarded-For: 10.77.0.10", `${direct}/2009-04-04/user-data`]);
    expect(forged.status).toBe(404);
    expect(forged.body).toContain("10.77.0.99");
  });

  test("through the trusted proxy the forwarded address decides: m1 crawls its own tree", async () => {
    const r = await cloudInit(m1, "ec2", `http://${PROXY_TRUSTED}:8081`);
    expect(r.warnings).toEqual([]);
    expect(r.metadata).toEqual(M1_EC2);
    expect(r.userdata).toBe(b64(USER_DATA));
    const stranger = await cloudInit(st, "ec2", `http://${PROXY_TRUSTED}:8081`);
    expect(stranger.metadata).toEqual({});
    expect(wispd.logs.find((l) => l.msg === "metadata served" && l.peer === "10.77.0.10" && l.via === "x-forwarded-for")).toMatchObject({ hardware: "default/m1" });
  });

  test("through the untrusted proxy the header is ignored: m1 gets nothing (the proxy's address is no Hardware's)", async () => {
    const r = await cloudInit(m1, "ec2", `http://${PROXY_TRUSTED}:8082`);
    expect(r.metadata).toEqual({});
    expect(r.userdata).toBe("");
    expect(wispd.logs.find((l) => l.msg === "metadata refused" && l.peer === PROXY_UNTRUSTED)).toMatchObject({ via: "peer", reason: "unknown-address" });
  });

  test("a changed Hardware is served at once: the prepared tree follows the index", async () => {
    const changed = structuredClone(hardware[1]!);
    changed.spec.userData = "#cloud-config\nhostname: m2-renamed\n";
    await wispd.apply(JSON.stringify(changed), 2);
    let body = "";
    for (let i = 0; i < 200 && body !== changed.spec.userData; i++) {
      body = (await curlIn(m2, [`${direct}/latest/user-data`])).body;
      if (body !== changed.spec.userData) await Bun.sleep(25);
    }
    expect(body).toBe(changed.spec.userData);
  });

  test("metrics by route and status; logs name peer, hardware and path and never carry user-data or keys", async () => {
    expect(await wispd.metric("wisp_metadata_requests_total", { route: "ec2", status: "200" })).toBeGreaterThan(20);
    expect(await wispd.metric("wisp_metadata_requests_total", { route: "nocloud", status: "200" })).toBe(3);
    expect(await wispd.metric("wisp_metadata_requests_total", { route: "ec2", status: "404" })).toBeGreaterThan(0);
    expect(wispd.logs.find((l) => l.msg === "metadata served" && l.path === "/2009-04-04/meta-data/public-keys/0/openssh-key")).toMatchObject({ peer: "10.77.0.10", hardware: "default/m1" });
    const all = JSON.stringify(wispd.logs);
    for (const secret of ["AAAAC3NzaC1lZDI1NTE5", "wispopskey", "Grüße", "runcmd", "packages: [htop]"]) expect(all).not.toContain(secret);
  });
});
