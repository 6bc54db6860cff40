/**
 * The DHCP server in this process on loopback, with a stand-in policy and stand-in socket calls
 * (no privileges needed): the receive -> decide -> send pipeline, its counters and logs, and
 * that no input kills it. Broadcasts and real clients run in network namespaces instead
 * (real-clients.test.ts): nothing here may leave loopback.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import pino from "pino";
import { decodeDhcp, dhcpPacket, encodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { getOption, setOption } from "../../daemon/dhcp/options.ts";
import { startDhcpServer, type DhcpNet, type DhcpServer } from "../../daemon/dhcp/server.ts";
import type { Decide, Decision, Delivery, DhcpPolicyConfig, HardwareLookup } from "../../daemon/dhcp/types.ts";
import { createMetricsRegistry, type MetricsRegistry } from "../../daemon/lib/metrics.ts";
import { ok } from "../../daemon/lib/result.ts";

const LOOPBACK = 0x7f000001;
const KNOWN_MAC = [0x02, 0x00, 0x00, 0xaa, 0xbb, 0x01];
const CONFIG: DhcpPolicyConfig = { mode: "reservation", publicIp: LOOPBACK, httpPort: 7080, wispUserClass: "Wisp", defaultLeaseTime: 3600 };
const LOOKUP: HardwareLookup = { byMac: () => undefined, byIp: () => undefined };
const THROWING_XID = 0xdead;
const ARP_XID = 0xa4;

interface Harness {
  server: DhcpServer;
  client: udp.Socket<"uint8array">;
  metrics: MetricsRegistry;
  logs: Record<string, unknown>[];
  arpCalls: unknown[][];
  received: Uint8Array[];
  /** Sends bytes to the server and waits until it has counted them. */
  send(bytes: Uint8Array): Promise<void>;
  nextReply(): Promise<Uint8Array>;
}

let open: Harness | undefined;
afterEach(() => {
  open?.server.close();
  open?.client.close();
  open = undefined;
});

/** A stand-in policy: offers 127.0.0.1 unicast to the sender for the known MAC, drops the rest. */
function fakeDecide(clientPort: () => number): Decide {
  return (req, cls, ctx): Decision => {
    if (req.xid === THROWING_XID) throw new Error("policy bug");
    if (cls.mac !== "02:00:00:aa:bb:01") return { kind: "drop", reason: "unknown-mac" };
    const reply = dhcpPacket({ xid: req.xid, yiaddr: LOOPBACK, chaddr: req.chaddr, flags: req.flags, file: new TextEncoder().encode(req.xid < 100 ? "f".repeat(req.xid) : "ipxe.efi") });
    setOption(reply, 53, 2);
    setOption(reply, 54, ctx.serverIp);
    const delivery: Delivery =
      req.xid === ARP_XID ? { kind: "unicast-mac", ip: LOOPBACK, mac: cls.mac, port: 68 } : { kind: "unicast", ip: LOOPBACK, port: clientPort() };
    return { kind: "reply", reply, delivery, event: "offer", host: { namespace: "default", hardwareName: "m1" } as never };
  };
}

async function harness(level = "debug"): Promise<Harness> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const metrics = createMetricsRegistry();
  const arpCalls: unknown[][] = [];
  const net: DhcpNet = {
    bindToDevice: () => ok(undefined),
    interfaceIPv4: () => ok({ address: LOOPBACK, netmask: 0xff000000 }),
    setArpEntry: (...args) => {
      arpCalls.push(args);
      return ok(undefined);
    },
  };
  const received: Uint8Array[] = [];
  const waiters: ((b: Uint8Array) => void)[] = [];
  const client = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    binaryType: "uint8array",
    socket: { data: (_s, data) => (waiters.shift() ?? ((b) => received.push(b)))(data.slice()) },
  });
  const server = await startDhcpServer({ interfaces: ["lo"], lookup: LOOKUP, config: CONFIG, decide: fakeDecide(() => client.port), logger, metrics, port: 0, net });
  const port = server.listeners[0]!.port;
  const total = () => sumRequests(metrics);
  const h: Harness = {
    server, client, metrics, logs, arpCalls, received,
    async send(bytes) {
      const before = total();
      client.send(bytes, port, "127.0.0.1");
      // The server counts every packet it reads: wait for that event, not for a time.
      while (total() === before) await Bun.sleep(1);
    },
    nextReply: () => (received.length > 0 ? Promise.resolve(received.shift()!) : new Promise((resolve) => waiters.push(resolve))),
  };
  open = h;
  return h;
}

function sumRequests(metrics: MetricsRegistry): number {
  let n = 0;
  for (const m of metrics.render().matchAll(/^wisp_dhcp_requests_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

function discover(xid: number, mac = KNOWN_MAC): Uint8Array {
  const p: DhcpPacket = dhcpPacket({ op: 1, xid, chaddr: new Uint8Array(mac) });
  setOption(p, 53, 1);
  const out = new Uint8Array(600);
  return out.subarray(0, encodeDhcp(p, out));
}

describe("DHCP server pipeline (loopback, stand-in policy)", () => {
  test("a request is decoded, decided, encoded and sent as the decision says; counters and the info log follow", async () => {
    const h = await harness();
    await h.send(discover(0x1234));
    const reply = decodeDhcp(await h.nextReply());
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.value.xid).toBe(0x1234);
    expect(getOption(reply.value, 53)).toBe(2);
    expect(getOption(reply.value, 54)).toBe(LOOPBACK); // the interface's address is the server id
    expect(h.metrics.value("wisp_dhcp_requests_total", { iface: "lo", type: "discover" })).toBe(1);
    expect(h.metrics.value("wisp_dhcp_replies_total", { iface: "lo", type: "offer" })).toBe(1);
    const line = h.logs.find((l) => l.msg === "dhcp reply")!;
    expect(line).toMatchObject({ level: 30, mac: "02:00:00:aa:bb:01", xid: "0x00001234", iface: "lo", hardware: "default/m1", message: "OFFER", yiaddr: "127.0.0.1", delivery: "unicast", bootFile: "ipxe.efi" });
    expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test("at --log-level warn a reply is sent and counted, and no reply line is written", async () => {
    const h = await harness("warn");
    await h.send(discover(0x4321));
    expect(decodeDhcp(await h.nextReply())).toMatchObject({ ok: true, value: { xid: 0x4321 } });
    expect(h.metrics.value("wisp_dhcp_replies_total", { iface: "lo", type: "offer" })).toBe(1);
    expect(h.logs).toEqual([]);
  });

  test("one decoder per socket is reused: each packet's own fields reach the policy, none of the one before", async () => {
    const h = await harness();
    await h.send(discover(0x51, [2, 0, 0, 0, 0, 9])); // unknown MAC: dropped
    await h.send(discover(0x52)); // known MAC: answered
    await h.send(discover(0x53, [2, 0, 0, 0, 0, 9]));
    const reply = decodeDhcp(await h.nextReply());
    expect(reply).toMatchObject({ ok: true, value: { xid: 0x52 } });
    expect(h.metrics.value("wisp_dhcp_drops_total", { iface: "lo", reason: "unknown-mac" })).toBe(2);
    expect(h.logs.filter((l) => l.msg === "dhcp request dropped").map((l) => [l.xid, l.mac])).toEqual([
      ["0x00000051", "02:00:00:00:00:09"],
      ["0x00000053", "02:00:00:00:00:09"],
    ]);
  });

  test("replies share one buffer: a short reply after a long one carries none of its bytes", async () => {
    const h = await harness();
    await h.send(discover(90));
    await h.send(discover(2));
    const [long, short] = [await h.nextReply(), await h.nextReply()];
    expect(new TextDecoder().decode(long.subarray(108, 108 + 90))).toBe("f".repeat(90));
    expect(Array.from(short.subarray(108 + 2, 108 + 128)).every((b) => b === 0)).toBe(true); // RFC 2131 2: file field
    expect(decodeDhcp(short)).toMatchObject({ ok: true, value: { xid: 2 } });
  });

  test("drops are counted by reason and logged at debug with the fixed fields", async () => {
    const h = await harness();
    await h.send(discover(7, [2, 0, 0, 0, 0, 9]));
    expect(h.metrics.value("wisp_dhcp_drops_total", { iface: "lo", reason: "unknown-mac" })).toBe(1);
    expect(h.logs.find((l) => l.msg === "dhcp request dropped")).toMatchObject({ level: 20, mac: "02:00:00:00:00:09", xid: "0x00000007", iface: "lo", reason: "unknown-mac" });
  });

  test("malformed packets are counted as decode-error and warned about; the server keeps serving", async () => {
    const h = await harness();
    await h.send(new Uint8Array([1, 2, 3]));
    const badCookie = discover(3);
    badCookie[236] = 0;
    await h.send(badCookie);
    expect(h.metrics.value("wisp_dhcp_drops_total", { iface: "lo", reason: "decode-error" })).toBe(2);
    expect(h.logs.filter((l) => l.msg === "malformed dhcp packet").map((l) => l.level)).toEqual([40, 40]);
    await h.send(discover(4));
    expect(decodeDhcp(await h.nextReply())).toMatchObject({ ok: true, value: { xid: 4 } });
  });

  test("a flood of malformed packets is counted in full but logged at most 10 times a second", async () => {
    const h = await harness();
    for (let i = 0; i < 30; i++) await h.send(new Uint8Array([i]));
    expect(h.metrics.value("wisp_dhcp_drops_total", { iface: "lo", reason: "decode-error" })).toBe(30);
    expect(h.logs.filter((l) => l.msg === "malformed dhcp packet").length).toBeLessThanOrEqual(20);
  });

  test("an exception in the policy is counted as internal-error and logged; the next packet is answered", async () => {
    const h = await harness();
    await h.send(discover(THROWING_XID));
    expect(h.metrics.value("wisp_dhcp_drops_total", { iface: "lo", reason: "internal-error" })).toBe(1);
    expect(h.logs.find((l) => l.msg === "dhcp packet handling failed")).toMatchObject({ level: 50, iface: "lo" });
    await h.send(discover(5));
    expect(decodeDhcp(await h.nextReply())).toMatchObject({ ok: true, value: { xid: 5 } });
  });

  test("unicast to a MAC writes the ARP entry for yiaddr -> chaddr on the interface, with the socket's fd", async () => {
    const h = await harness();
    await h.send(discover(ARP_XID));
    expect(h.arpCalls).toHaveLength(1);
    const [iface, ip, mac, fd] = h.arpCalls[0]!;
    expect([iface, ip, Array.from(mac as Uint8Array), typeof fd]).toEqual(["lo", LOOPBACK, KNOWN_MAC, "number"]);
    expect(h.logs.find((l) => l.msg === "dhcp reply")).toMatchObject({ delivery: "unicast-mac", to: "127.0.0.1:68" });
  });

  test("option 54 is the link's own address, or --public-ip when the operator set one", async () => {
    const net: DhcpNet = { bindToDevice: () => ok(undefined), interfaceIPv4: () => ok({ address: LOOPBACK, netmask: 0xff000000 }), setArpEntry: () => ok(undefined) };
    const base = { interfaces: ["lo"], lookup: LOOKUP, config: CONFIG, decide: fakeDecide(() => 0), logger: pino({ level: "silent" }), port: 0, net };
    const own = await startDhcpServer({ ...base, metrics: createMetricsRegistry() });
    const vip = await startDhcpServer({ ...base, metrics: createMetricsRegistry(), serverIdentifier: 0x0a000063 });
    try {
      expect(own.listeners[0]!.serverIp).toBe("127.0.0.1");
      expect(vip.listeners[0]!.serverIp).toBe("10.0.0.99");
    } finally {
      own.close();
      vip.close();
    }
  });
});
