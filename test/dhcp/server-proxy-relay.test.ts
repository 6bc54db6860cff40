/**
 * wispd's DHCP server in proxy mode (boot information, no address) and behind a relay (ISC
 * dhcrelay adding option 82), in network namespaces made for the test. Skips only when not root.
 */
import { describe, expect, test } from "bun:test";
import { decodeDhcp, dhcpPacket, encodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { getOption, setOption } from "../../daemon/dhcp/options.ts";
import { parseIpv4, parseMac } from "../../daemon/wire/address.ts";
import { IS_ROOT, type Netns } from "../support/netns.ts";
import { clientScript, hardwareYaml, probe, waitEvent, wispdLab } from "./netns-wispd.ts";

const CLIENT_TIMEOUT_MS = 20_000;
const GUID = "8a1e1b2c-3d4e-5f60-7182-93a4b5c6d7e8";

const ip = (text: string): number => (parseIpv4(text) as { value: number }).value;
const mac = (text: string): Uint8Array => (parseMac(text) as { value: Uint8Array }).value;

function bytes(p: DhcpPacket): Uint8Array {
  const out = new Uint8Array(1000);
  return out.subarray(0, encodeDhcp(p, out));
}

/** A UEFI x64 PXE ROM's DISCOVER (broadcast flag, PXEClient vendor class, options 93, 94, 97). */
function pxeDiscover(xid: number, chaddr: string): Uint8Array {
  const p = dhcpPacket({ op: 1, xid, flags: 0x8000, chaddr: mac(chaddr) });
  setOption(p, 53, 1);
  setOption(p, 60, "PXEClient:Arch:00007:UNDI:003016");
  setOption(p, 93, [7]);
  setOption(p, 94, { type: 1, major: 3, minor: 16 });
  setOption(p, 97, { type: 0, guid: GUID });
  setOption(p, 55, [1, 3, 6, 43, 60, 66, 67, 97]);
  return bytes(p);
}

const utf8 = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe.skipIf(!IS_ROOT)("DHCP proxy mode (network namespaces)", () => {
  const SERVER_IP = "10.78.0.1";
  const PXE_MAC = "02:78:00:00:00:0a";
  let client: Netns;
  const env = wispdLab(async (lab) => {
    const server = await lab.namespace("srv");
    client = await lab.namespace("pxe");
    // The client has no address, as a PXE ROM before its first reply.
    await lab.link({ ns: server, name: "s0", address: `${SERVER_IP}/24` }, { ns: client, name: "c0", mac: PXE_MAC });
    const yaml = hardwareYaml({ name: "pxe-a", mac: PXE_MAC, ip: "10.78.0.60", gateway: SERVER_IP, dns: ["10.78.0.53"], hostname: "pxe-a" });
    return { server, args: ["--dhcp-interface", "s0", "--dhcp-mode", "proxy", "--log-level", "debug"], hardware: { yaml, entries: 1 } };
  });

  test("a PXE DISCOVER gets boot information and no address: file, siaddr, sname, 43, 60 and 97 echoed", async () => {
    const replies = await probe(client, { iface: "c0", bindPort: 68, to: "255.255.255.255:67", packets: [pxeDiscover(0x9001, PXE_MAC)], waitMs: 5_000 });
    expect(replies).toHaveLength(1);
    const decoded = decodeDhcp(replies[0]!.bytes);
    if (!decoded.ok) throw new Error(decoded.error);
    const offer = decoded.value;
    expect(offer).toMatchObject({ op: 2, xid: 0x9001, yiaddr: 0, siaddr: ip(SERVER_IP) });
    expect(getOption(offer, 53)).toBe(2);
    expect(getOption(offer, 54)).toBe(ip(SERVER_IP));
    expect(utf8(offer.file)).toBe("ipxe.efi"); // arch 7: x64 UEFI, over TFTP
    expect(utf8(offer.sname)).toBe(SERVER_IP);
    expect(getOption(offer, 60)).toBe("PXEClient");
    expect(getOption(offer, 97)).toEqual({ type: 0, guid: GUID });
    expect(offer.options.has(43)).toBe(true);
    // No network configuration: the site's DHCP server owns it.
    for (const code of [1, 3, 6, 12, 51]) expect(offer.options.has(code)).toBe(false);
    expect(replies[0]!.from).toBe(`${SERVER_IP}:67`);
    expect(await env.wispd.metric("wisp_dhcp_replies_total", { iface: "s0", type: "offer" })).toBe(1);
  }, 20_000);

  test("in proxy mode an unknown PXE client and a plain DHCP client get nothing, each drop counted by reason", async () => {
    const plain = dhcpPacket({ op: 1, xid: 0x9002, flags: 0x8000, chaddr: mac(PXE_MAC) });
    setOption(plain, 53, 1);
    const replies = await probe(client, {
      iface: "c0", bindPort: 68, to: "255.255.255.255:67", waitMs: 1_500, replies: 1,
      packets: [pxeDiscover(0x9003, "02:78:00:00:00:99"), bytes(plain)],
    });
    expect(replies).toHaveLength(0);
    expect(await env.wispd.metric("wisp_dhcp_drops_total", { iface: "s0", reason: "unknown-mac" })).toBe(1);
    expect(await env.wispd.metric("wisp_dhcp_drops_total", { iface: "s0", reason: "not-pxe" })).toBe(1);
  }, 20_000);
});

describe.skipIf(!IS_ROOT)("DHCP through a relay: ISC dhcrelay with option 82 (network namespaces)", () => {
  // client --(10.79.1.0/24)-- relay --(10.79.0.0/24)-- server
  const SERVER_IP = "10.79.0.1";
  const RELAY_UP = "10.79.0.2";
  const RELAY_DOWN = "10.79.1.1";
  const CLIENT_MAC = "02:79:00:00:00:0a";
  let client: Netns;
  let relay: Netns;
  const env = wispdLab(async (lab) => {
    const server = await lab.namespace("srv");
    relay = await lab.namespace("rly");
    client = await lab.namespace("cli");
    await lab.link({ ns: server, name: "s0", address: `${SERVER_IP}/24` }, { ns: relay, name: "r-up", address: `${RELAY_UP}/24` });
    await lab.link({ ns: relay, name: "r-down", address: `${RELAY_DOWN}/24` }, { ns: client, name: "c0", mac: CLIENT_MAC });
    await server.run(["ip", "route", "add", "10.79.1.0/24", "via", RELAY_UP]);
    const yaml = hardwareYaml({ name: "far-a", mac: CLIENT_MAC, ip: "10.79.1.50", gateway: RELAY_DOWN, dns: ["10.79.0.53"], hostname: "far-a" });
    return { server, args: ["--dhcp-interface", "s0", "--log-level", "debug"], hardware: { yaml, entries: 1 } };
  });

  test("udhcpc two links away gets its reservation through dhcrelay; replies go to giaddr:67", async () => {
    const pidDir = clientScript("udhcpc");
    // -a: add option 82 (circuit-id = the client's interface); -id/-iu: client and server sides.
    const dhcrelay = relay.spawn(["dhcrelay", "-d", "-4", "-a", "-pf", `${pidDir.dir}/dhcrelay.pid`, "-id", "r-down", "-iu", "r-up", SERVER_IP]);
    try {
      const rec = clientScript("udhcpc");
      const r = await client.exec(["udhcpc", "-f", "-q", "-n", "-t", "5", "-T", "1", "-i", "c0", "-s", rec.script], { timeoutMs: CLIENT_TIMEOUT_MS });
      expect(r.code).toBe(0);
      const bound = await waitEvent(rec.events, ["bound"], 1_000);
      expect(bound).toMatchObject({ ip: "10.79.1.50", subnet: "255.255.255.0", router: RELAY_DOWN, dns: "10.79.0.53", hostname: "far-a", serverid: SERVER_IP });
      const ack = await env.wispd.waitLog((l) => l.msg === "dhcp reply" && l.mac === CLIENT_MAC && l.message === "ACK");
      expect(ack).toMatchObject({ delivery: "relay", to: `${RELAY_DOWN}:67`, giaddr: RELAY_DOWN, peer: `${RELAY_UP}:67`, iface: "s0" });
    } finally {
      dhcrelay.kill("SIGTERM");
      await dhcrelay.exited;
    }
    // dhcrelay -d says what it forwarded: both ways, or the test above would have failed.
    const said = await new Response(dhcrelay.stderr).text();
    expect(said).toContain(`Forwarded BOOTREQUEST for ${CLIENT_MAC} to ${SERVER_IP}`);
    expect(said).toContain(`Forwarded BOOTREPLY for ${CLIENT_MAC} to`);
  }, 40_000);

  test("option 82 from the relay comes back unchanged, as the last option (RFC 3046 2.2)", async () => {
    // The relay's part played by hand, on the relay's own port, so the reply itself can be read.
    const agentInfo = Uint8Array.of(1, 6, ...new TextEncoder().encode("r-down"), 2, 4, 0xde, 0xad, 0xbe, 0xef);
    const p = dhcpPacket({ op: 1, hops: 1, xid: 0x8282, giaddr: ip(RELAY_DOWN), chaddr: mac(CLIENT_MAC) });
    setOption(p, 53, 1);
    p.options.set(82, agentInfo);
    const replies = await probe(relay, { iface: "r-up", bindPort: 67, to: `${SERVER_IP}:67`, packets: [bytes(p)], waitMs: 5_000 });
    expect(replies).toHaveLength(1);
    const decoded = decodeDhcp(replies[0]!.bytes);
    if (!decoded.ok) throw new Error(decoded.error);
    expect(decoded.value).toMatchObject({ xid: 0x8282, giaddr: ip(RELAY_DOWN), yiaddr: ip("10.79.1.50") });
    expect(Array.from(decoded.value.options.get(82) ?? [])).toEqual(Array.from(agentInfo));
    expect([...decoded.value.options.keys()].at(-1)).toBe(82);
  }, 20_000);
});
