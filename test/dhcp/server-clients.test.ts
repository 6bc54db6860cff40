/**
 * wispd's DHCP server against Debian's real clients, in network namespaces made for the test:
 * a server namespace (wispd on a bridge) and one namespace per client, each on its own veth.
 * Hardware goes in through the API with the wisp CLI. Skips only when not root.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { decodeDhcp, dhcpPacket, encodeDhcp } from "../../daemon/dhcp/codec.ts";
import { setOption } from "../../daemon/dhcp/options.ts";
import { createNetLab, IS_ROOT, type NetLab, type Netns } from "../support/netns.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { clientScript, hardwareYaml, probe, startWispdIn, waitEvent, waitFor, wispdLab } from "./netns-wispd.ts";

const SERVER_IP = "10.77.0.1";
const DHCLIENT_MAC = "02:77:00:00:00:0a";
const UDHCPC_MAC = "02:77:00:00:00:0b";
const UNKNOWN_MAC = "02:77:00:00:00:99";
const HOSTS = [
  { name: "node-a", mac: DHCLIENT_MAC, ip: "10.77.0.50", hostname: "node-a" },
  { name: "node-b", mac: UDHCPC_MAC, ip: "10.77.0.51", hostname: "node-b" },
];
const DNS = ["10.77.0.53", "10.77.0.54"];
/** Bound on every client run: a lost reply must fail the test, not hang it. */
const CLIENT_TIMEOUT_MS = 20_000;

describe.skipIf(!IS_ROOT)("DHCP reservation mode with real clients (network namespaces)", () => {
  let server: Netns;
  const clients: Record<string, Netns> = {};
  const env = wispdLab(async (lab) => {
    server = await lab.namespace("srv");
    const ports: string[] = [];
    for (const [label, mac] of [["a", DHCLIENT_MAC], ["b", UDHCPC_MAC], ["x", UNKNOWN_MAC]] as const) {
      clients[label] = await lab.namespace(`c${label}`);
      await lab.link({ ns: server, name: `s-${label}` }, { ns: clients[label]!, name: "c0", mac });
      ports.push(`s-${label}`);
    }
    await lab.bridge(server, "br0", ports, `${SERVER_IP}/24`);
    const yaml = HOSTS.map((h) => hardwareYaml({ ...h, gateway: SERVER_IP, dns: DNS })).join("---\n");
    return { server, args: ["--dhcp-interface", "br0", "--log-level", "debug"], hardware: { yaml, entries: HOSTS.length } };
  });

  test("dhclient gets its reserved address, mask, router, DNS and hostname, then the same again on a second run (INIT-REBOOT)", async () => {
    const rec = clientScript("dhclient");
    const conf = `${rec.dir}/dhclient.conf`;
    await Bun.write(conf, "timeout 10;\nretry 1;\nrequest subnet-mask, routers, domain-name-servers, host-name, domain-name;\n");
    const leases = `${rec.dir}/leases`;
    const argv = ["dhclient", "-1", "-d", "-v", "-cf", conf, "-lf", leases, "-pf", `${rec.dir}/pid`, "-sf", rec.script, "c0"];
    const first = clients.a!.spawn(argv);
    const bound = await waitEvent(rec.events, ["BOUND"], CLIENT_TIMEOUT_MS);
    // dhclient writes its lease file after the script has run: the second run needs it.
    await waitFor(() => existsSync(leases) && readFileSync(leases, "utf8").includes("fixed-address 10.77.0.50;"), CLIENT_TIMEOUT_MS);
    first.kill("SIGTERM");
    await first.exited;
    expect(bound).toMatchObject({
      new_ip_address: "10.77.0.50",
      new_subnet_mask: "255.255.255.0",
      new_routers: SERVER_IP,
      new_domain_name_servers: DNS.join(" "),
      new_host_name: "node-a",
      new_dhcp_server_identifier: SERVER_IP,
      new_dhcp_lease_time: "600",
    });
    const offer = await env.wispd.waitLog((l) => l.msg === "dhcp reply" && l.mac === DHCLIENT_MAC && l.message === "OFFER");
    expect(offer).toMatchObject({ iface: "br0", hardware: "default/node-a", yiaddr: "10.77.0.50" });

    // A second run finds the lease in its file and asks for it again (REQUEST with option 50).
    const second = clients.a!.spawn(argv);
    const reboot = await waitEvent(rec.events, ["REBOOT"], CLIENT_TIMEOUT_MS);
    second.kill("SIGTERM");
    await second.exited;
    expect(reboot).toMatchObject({ new_ip_address: "10.77.0.50", new_host_name: "node-a" });
    expect(env.wispd.logs.filter((l) => l.msg === "dhcp reply" && l.mac === DHCLIENT_MAC && l.message === "ACK").length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test("udhcpc without the broadcast flag gets its reply unicast to its MAC, renews by unicast, and releases", async () => {
    const rec = clientScript("udhcpc");
    // -R: release on exit. No -B: udhcpc asks for unicast replies, which need our ARP entry.
    const client = clients.b!.spawn(["udhcpc", "-f", "-n", "-R", "-t", "3", "-T", "1", "-A", "1", "-i", "c0", "-s", rec.script]);
    try {
      const bound = await waitEvent(rec.events, ["bound"], CLIENT_TIMEOUT_MS);
      expect(bound).toMatchObject({ ip: "10.77.0.51", subnet: "255.255.255.0", mask: "24", router: SERVER_IP, dns: DNS.join(" "), hostname: "node-b", serverid: SERVER_IP, lease: "600" });
      const offer = await env.wispd.waitLog((l) => l.msg === "dhcp reply" && l.mac === UDHCPC_MAC && l.message === "OFFER");
      expect(offer).toMatchObject({ delivery: "unicast-mac", to: "10.77.0.51:68" });
      const arp = await server.run(["ip", "neigh", "show", "10.77.0.51", "dev", "br0"]);
      expect(arp).toContain(UDHCPC_MAC);

      // SIGUSR1: renew now; the REQUEST comes from 10.77.0.51 with ciaddr set and the ACK goes back to it.
      client.kill("SIGUSR1");
      const renew = await waitEvent(rec.events, ["renew"], CLIENT_TIMEOUT_MS);
      expect(renew).toMatchObject({ ip: "10.77.0.51", hostname: "node-b" });
      const ack = await env.wispd.waitLog((l) => l.msg === "dhcp reply" && l.mac === UDHCPC_MAC && l.message === "ACK" && l.delivery === "unicast");
      expect(ack).toMatchObject({ to: "10.77.0.51:68", peer: "10.77.0.51:68" });
    } finally {
      client.kill("SIGTERM");
      await client.exited;
    }
    const release = await env.wispd.waitLog((l) => l.msg === "dhcp release" && l.mac === UDHCPC_MAC, 5_000);
    expect(release).toMatchObject({ level: 30, iface: "br0", ip: "10.77.0.51", hardware: "default/node-b" });
  }, 60_000);

  test("an unknown MAC gets nothing in reservation mode: the client gives up, the drop is counted", async () => {
    const rec = clientScript("udhcpc");
    const before = await env.wispd.metric("wisp_dhcp_drops_total", { iface: "br0", reason: "unknown-mac" });
    const started = performance.now();
    const r = await clients.x!.exec(["udhcpc", "-f", "-q", "-n", "-t", "2", "-T", "1", "-i", "c0", "-s", rec.script], { timeoutMs: CLIENT_TIMEOUT_MS });
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(rec.events().map((e) => e.reason)).not.toContain("bound");
    expect(await env.wispd.metric("wisp_dhcp_drops_total", { iface: "br0", reason: "unknown-mac" })).toBeGreaterThanOrEqual(before + 2);
    expect(env.wispd.logs.some((l) => l.msg === "dhcp reply" && l.mac === UNKNOWN_MAC)).toBe(false);
  }, 30_000);

  test("malformed packets are counted as decode-error and the server keeps answering", async () => {
    const before = await env.wispd.metric("wisp_dhcp_drops_total", { iface: "br0", reason: "decode-error" });
    const valid = dhcpPacket({ op: 1, xid: 0x5150, chaddr: new Uint8Array([2, 0x77, 0, 0, 0, 0x0b]), flags: 0x8000 });
    setOption(valid, 53, 1);
    const good = new Uint8Array(400);
    const goodBytes = good.subarray(0, encodeDhcp(valid, good));
    const badCookie = goodBytes.slice();
    badCookie[236] = 0;
    const badLength = goodBytes.slice();
    badLength.set([12, 200, 0x41], 240 + 3); // option 12 claims 200 bytes past the end (after 53)
    const garbage = [new Uint8Array([1, 2, 3]), badCookie, badLength.subarray(0, 260), new Uint8Array(1400).fill(0xff)];
    // Broadcast, from the client port, as a confused client would; then one valid DISCOVER.
    const replies = await probe(clients.b!, { iface: "c0", bindPort: 68, to: "255.255.255.255:67", packets: [...garbage, goodBytes], waitMs: 5_000 });
    expect(await env.wispd.metric("wisp_dhcp_drops_total", { iface: "br0", reason: "decode-error" })).toBe(before + garbage.length);
    expect(replies).toHaveLength(1);
    const offer = decodeDhcp(replies[0]!.bytes);
    expect(offer).toMatchObject({ ok: true, value: { xid: 0x5150, yiaddr: 0x0a4d0033 } }); // 10.77.0.51
    const warned = env.wispd.logs.filter((l) => l.msg === "malformed dhcp packet");
    expect(warned.length).toBeGreaterThanOrEqual(garbage.length);
    expect(warned[0]).toMatchObject({ level: 40, iface: "br0" });
  }, 30_000);

  test("/metrics shows the counters of the traffic above, in the text format, without a token", async () => {
    const head = await server.run(["curl", "-sS", "-i", "--max-time", "5", `${env.wispd.url}/metrics`]);
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head.toLowerCase()).toContain("content-type: text/plain; version=0.0.4");
    const text = await env.wispd.metrics();
    expect(text).toContain("# TYPE wisp_dhcp_requests_total counter");
    const m = (name: string, labels: Record<string, string>) => env.wispd.metric(name, labels);
    expect(await m("wisp_dhcp_requests_total", { iface: "br0", type: "discover" })).toBeGreaterThanOrEqual(4);
    expect(await m("wisp_dhcp_requests_total", { iface: "br0", type: "request" })).toBeGreaterThanOrEqual(3);
    expect(await m("wisp_dhcp_requests_total", { iface: "br0", type: "release" })).toBeGreaterThanOrEqual(1);
    expect(await m("wisp_dhcp_replies_total", { iface: "br0", type: "offer" })).toBeGreaterThanOrEqual(3);
    expect(await m("wisp_dhcp_replies_total", { iface: "br0", type: "ack" })).toBeGreaterThanOrEqual(3);
    expect(await m("wisp_dhcp_drops_total", { iface: "br0", reason: "unknown-mac" })).toBeGreaterThanOrEqual(2);
    expect(await m("wisp_dhcp_drops_total", { iface: "br0", reason: "decode-error" })).toBeGreaterThanOrEqual(4);
    expect(await m("wisp_dhcp_decision_seconds_count", { iface: "br0" })).toBeGreaterThanOrEqual(8);
    expect(await m("wisp_hardware_index_entries", {})).toBe(HOSTS.length);
  }, 15_000);
});

describe.skipIf(!IS_ROOT)("wispd with only CAP_NET_BIND_SERVICE and CAP_NET_RAW (network namespaces)", () => {
  const MAC = "02:76:00:00:00:0a";
  let client: Netns;
  const env = wispdLab(async (lab) => {
    const server = await lab.namespace("srv");
    client = await lab.namespace("cli");
    await lab.link({ ns: server, name: "s0", address: "10.76.0.1/24" }, { ns: client, name: "c0", mac: MAC });
    // Port 67 needs NET_BIND_SERVICE and SO_BINDTODEVICE NET_RAW; without NET_ADMIN no ARP entry.
    const caps = ["setpriv", "--inh-caps=-all", "--bounding-set=-all,+net_bind_service,+net_raw", "--"];
    const yaml = hardwareYaml({ name: "node-c", mac: MAC, ip: "10.76.0.50", gateway: "10.76.0.1", dns: ["10.76.0.53"], hostname: "node-c" });
    return { server, args: ["--dhcp-interface", "s0"], prefix: caps, hardware: { yaml, entries: 1 } };
  });

  test("a reply that should go unicast to the MAC is broadcast instead, and the fallback is counted", async () => {
    const rec = clientScript("udhcpc");
    const r = await client.exec(["udhcpc", "-f", "-q", "-n", "-t", "3", "-T", "1", "-i", "c0", "-s", rec.script], { timeoutMs: CLIENT_TIMEOUT_MS });
    expect(r.code).toBe(0);
    expect(rec.events().find((e) => e.reason === "bound")).toMatchObject({ ip: "10.76.0.50", hostname: "node-c" });
    const offer = await env.wispd.waitLog((l) => l.msg === "dhcp reply" && l.message === "OFFER");
    expect(offer).toMatchObject({ delivery: "broadcast", to: "255.255.255.255:68" });
    expect(env.wispd.logs.find((l) => l.msg === "arp entry not set; broadcasting the reply")).toMatchObject({
      level: 40,
      iface: "s0",
      error: "SIOCSARP s0: Operation not permitted (errno 1)",
    });
    expect(await env.wispd.metric("wisp_dhcp_delivery_fallbacks_total", { iface: "s0", reason: "arp-failed" })).toBeGreaterThanOrEqual(2);
  }, 30_000);
});

describe.skipIf(!IS_ROOT)("wispd start-up with DHCP options (network namespace)", () => {
  let lab: NetLab;
  let ns: Netns;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    lab = await createNetLab();
    ns = await lab.namespace("srv");
    const peer = await lab.namespace("peer");
    await lab.link({ ns, name: "s0", address: "10.75.0.1/24" }, { ns: peer, name: "p0" });
  }, 30_000);

  afterAll(async () => {
    await lab?.close();
    for (const c of cleanups.reverse()) await c();
  });

  test("without --dhcp-interface DHCP is off, says so, and nothing listens on port 67", async () => {
    const data = await pgliteDataDir();
    cleanups.push(data.remove);
    const wispd = await startWispdIn(ns, data.dataDir, ["--dhcp-mode", "proxy"]);
    try {
      expect(wispd.logs.find((l) => l.msg === "dhcp off")).toMatchObject({ level: 30, mode: "proxy", reason: "no --dhcp-interface named" });
      expect(await ns.run(["ss", "-Hulpn", "sport", "=", ":67"])).toBe("");
      expect(await wispd.metrics()).not.toContain("wisp_dhcp_"); // no server, no DHCP counters
    } finally {
      expect(await wispd.stop()).toBe(0);
    }
  }, 30_000);

  test("an interface that does not exist stops start-up with a message naming it", async () => {
    const data = await pgliteDataDir();
    cleanups.push(data.remove);
    const r = await ns.exec(["node", "bin/wispd", "--data-dir", data.dataDir, "--http-port", "0", "--listen-address", "127.0.0.1", "--dhcp-interface", "s0", "--dhcp-interface", "nosuch0"], {
      timeoutMs: 30_000,
      cwd: `${import.meta.dir}/../..`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("wispd: dhcp: --dhcp-interface nosuch0: SO_BINDTODEVICE nosuch0: No such device (errno 19)");
  }, 40_000);
});
