// The DHCP policy, table-driven: message types (RFC 2131 4.3), modes, delivery (RFC 2131 4.1),
// option contents decoded back with getOption, relays (giaddr, option 82, 118). Boot paths and
// per-hardware overrides are in policy-boot.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { classifyDhcp } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, dhcpLength, encodeDhcp } from "../../daemon/dhcp/codec.ts";
import { getOption } from "../../daemon/dhcp/options.ts";
import { DROP_REASONS, decide, type DropReason } from "../../daemon/dhcp/policy.ts";
import type { Decision, Delivery, DhcpMode } from "../../daemon/dhcp/types.ts";
import { HAND_BUILT, opt, str } from "./hand-built.ts";
import {
  CONFIG, CTX, MAC, OTHER_MAC_BYTES, arch, decideFor, hosts, iface, ip, lookupOf, maxSize, prl, pxeRom, replyOf,
  requestedIp, serverId, subnetSelection, text, type, user, vendor, type RequestFields,
} from "./policy-support.ts";

const DISCOVER = 1, REQUEST = 3, DECLINE = 4, RELEASE = 7, INFORM = 8;
const seenReasons = new Set<string>();
afterAll(() => {
  // Every reason the policy gave in these tests is a listed, stable one.
  for (const r of seenReasons) expect(Object.keys(DROP_REASONS)).toContain(r);
});

function outcome(d: Decision): string {
  if (d.kind === "drop") {
    seenReasons.add(d.reason);
    return `drop ${d.reason}`;
  }
  const t = getOption(d.reply, 53);
  return `${d.event} ${t === 2 ? "OFFER" : t === 5 ? "ACK" : t === 6 ? "NAK" : t}`;
}

type Case = [name: string, options: number[], fields: RequestFields, expected: string, extra?: { mode?: DhcpMode; hosts?: ReturnType<typeof hosts> }];

describe("messages in reservation mode (RFC 2131 4.3)", () => {
  const noIp = hosts(iface({ dhcp: { ip: undefined } }));
  const cases: Case[] = [
    ["DISCOVER -> OFFER", [...type(DISCOVER)], {}, "offer OFFER"],
    ["REQUEST SELECTING (54 = us, 50 = reservation) -> ACK", [...type(REQUEST), ...serverId("10.0.0.1"), ...requestedIp("10.0.0.23")], {}, "ack ACK"],
    ["REQUEST SELECTING another server -> silence", [...type(REQUEST), ...serverId("10.0.0.9"), ...requestedIp("10.0.0.23")], {}, "drop other-server"],
    ["REQUEST SELECTING another address -> NAK", [...type(REQUEST), ...serverId("10.0.0.1"), ...requestedIp("10.0.0.99")], {}, "nak NAK"],
    ["REQUEST INIT-REBOOT for the reservation -> ACK", [...type(REQUEST), ...requestedIp("10.0.0.23")], {}, "ack ACK"],
    ["REQUEST INIT-REBOOT for another address -> NAK", [...type(REQUEST), ...requestedIp("10.0.0.99")], {}, "nak NAK"],
    ["REQUEST INIT-REBOOT from an unknown MAC -> silence", [...type(REQUEST), ...requestedIp("10.0.0.99")], { mac: OTHER_MAC_BYTES }, "drop unknown-mac"],
    ["REQUEST RENEWING (ciaddr = reservation) -> ACK", [...type(REQUEST)], { ciaddr: "10.0.0.23" }, "ack ACK"],
    ["REQUEST RENEWING another address -> NAK", [...type(REQUEST)], { ciaddr: "10.0.0.77" }, "nak NAK"],
    ["REQUEST REBINDING (broadcast) -> ACK", [...type(REQUEST)], { ciaddr: "10.0.0.23", flags: 0x8000 }, "ack ACK"],
    ["REQUEST with neither 50 nor ciaddr -> silence", [...type(REQUEST)], {}, "drop no-requested-address"],
    ["DECLINE -> recorded, no reply", [...type(DECLINE), ...serverId("10.0.0.1"), ...requestedIp("10.0.0.23")], {}, "drop decline"],
    ["DECLINE to another server -> silence", [...type(DECLINE), ...serverId("10.0.0.9"), ...requestedIp("10.0.0.23")], {}, "drop other-server"],
    ["RELEASE -> recorded, no reply", [...type(RELEASE), ...serverId("10.0.0.1")], { ciaddr: "10.0.0.23" }, "drop release"],
    ["INFORM -> ACK without an address", [...type(INFORM)], { ciaddr: "10.0.0.23" }, "inform ACK"],
    ["BOOTP (no option 53) -> silence", [], {}, "drop no-message-type"],
    ["a BOOTREPLY -> silence", [...type(2)], { op: 2 }, "drop not-request"],
    ["not Ethernet -> silence", [...type(DISCOVER)], { htype: 6 }, "drop not-ethernet"],
    ["LEASEQUERY -> silence", [...type(10)], {}, "drop unsupported-message-type"],
    ["OFFER sent to a server -> silence", [...type(2)], {}, "drop unsupported-message-type"],
    ["unknown MAC -> silence", [...type(DISCOVER)], { mac: OTHER_MAC_BYTES }, "drop unknown-mac"],
    ["disableDhcp -> silence", [...type(DISCOVER)], {}, "drop disabled", { hosts: hosts(iface({ disableDhcp: true })) }],
    ["no address in the Hardware -> silence", [...type(DISCOVER)], {}, "drop no-reservation", { hosts: noIp }],
    ["reservation on another subnet -> silence", [...type(DISCOVER)], {}, "drop wrong-subnet", { hosts: hosts(iface({ dhcp: { ip: { address: "10.7.0.23", netmask: "255.255.255.0" } } })) }],
  ];
  for (const [name, options, fields, expected, extra] of cases) {
    test(name, () => expect(outcome(decideFor(options, { fields, ...extra }))).toBe(expected));
  }

  test("DECLINE and RELEASE carry the host, for the server to record", () => {
    for (const t of [DECLINE, RELEASE]) {
      const d = decideFor([...type(t)], { fields: { ciaddr: "10.0.0.23" } });
      expect(d.kind === "drop" && d.host?.mac).toBe(MAC);
    }
  });

  test("OFFER and ACK fields (RFC 2131 table 3)", () => {
    const offer = replyOf(decideFor([...type(DISCOVER)], { fields: { flags: 0x8000, hops: 2 } })).reply;
    expect(offer).toMatchObject({ op: 2, xid: 0x11223344, flags: 0x8000, hops: 0, ciaddr: 0, yiaddr: ip("10.0.0.23"), secs: 0 });
    const ack = replyOf(decideFor([...type(REQUEST)], { fields: { ciaddr: "10.0.0.23" } })).reply;
    expect(ack).toMatchObject({ ciaddr: ip("10.0.0.23"), yiaddr: ip("10.0.0.23") });
  });

  test("NAK: 53, 54 and a message only; no address, no boot file", () => {
    const nak = replyOf(decideFor([...type(REQUEST), ...pxeRom(), ...requestedIp("10.0.0.99")])).reply;
    expect([...nak.options.keys()]).toEqual([53, 54, 56]);
    expect(getOption(nak, 54)).toBe(ip("10.0.0.1"));
    expect(getOption(nak, 56)).toContain("reservation");
    expect(nak).toMatchObject({ yiaddr: 0, ciaddr: 0, siaddr: 0 });
    expect(nak.file.length).toBe(0);
  });

  test("INFORM: options, no yiaddr, no lease time (RFC 2131 4.3.5)", () => {
    const d = replyOf(decideFor([...type(INFORM)], { fields: { ciaddr: "10.0.0.23" } }));
    expect(d.reply.yiaddr).toBe(0);
    expect(d.reply.ciaddr).toBe(ip("10.0.0.23"));
    for (const code of [51, 58, 59]) expect(d.reply.options.has(code)).toBe(false);
    expect(getOption(d.reply, 1)).toBe(ip("255.255.255.0"));
    expect(d.delivery).toEqual({ kind: "unicast", ip: ip("10.0.0.23"), port: 68 });
  });
});

describe("modes", () => {
  const unknown = { mac: OTHER_MAC_BYTES };
  const cases: Case[] = [
    ["off drops everything", [...type(DISCOVER), ...pxeRom()], {}, "drop dhcp-off", { mode: "off" }],
    ["proxy: known PXE ROM -> proxy offer", [...type(DISCOVER), ...pxeRom()], {}, "proxy-offer OFFER", { mode: "proxy" }],
    ["proxy: PXE REQUEST to us -> proxy ack", [...type(REQUEST), ...pxeRom(), ...serverId("10.0.0.1")], { ciaddr: "10.0.0.23" }, "proxy-ack ACK", { mode: "proxy" }],
    ["proxy: REQUEST to the site's server -> silence", [...type(REQUEST), ...pxeRom(), ...serverId("10.0.0.9")], {}, "drop other-server", { mode: "proxy" }],
    ["proxy: not a PXE client -> silence", [...type(DISCOVER), ...vendor("dhclient 4.4")], {}, "drop not-pxe", { mode: "proxy" }],
    ["proxy: unknown PXE client -> silence", [...type(DISCOVER), ...pxeRom()], unknown, "drop unknown-mac", { mode: "proxy" }],
    ["proxy: allowPXE false -> silence", [...type(DISCOVER), ...pxeRom()], {}, "drop pxe-not-allowed", { mode: "proxy", hosts: hosts(iface({ netboot: { allowPXE: false } })) }],
    ["proxy: no binary for the architecture -> silence", [...type(DISCOVER), ...pxeRom(12)], {}, "drop no-boot-file", { mode: "proxy" }],
    ["proxy: INFORM -> silence", [...type(INFORM), ...pxeRom()], { ciaddr: "10.0.0.23" }, "drop unsupported-message-type", { mode: "proxy" }],
    ["proxy: disableDhcp -> silence", [...type(DISCOVER), ...pxeRom()], {}, "drop disabled", { mode: "proxy", hosts: hosts(iface({ disableDhcp: true })) }],
    ["proxy: RELEASE -> recorded", [...type(RELEASE)], {}, "drop release", { mode: "proxy" }],
    ["auto-proxy: unknown PXE ROM -> proxy offer", [...type(DISCOVER), ...pxeRom()], unknown, "proxy-offer OFFER", { mode: "auto-proxy" }],
    ["auto-proxy: unknown stock iPXE -> proxy offer", [...type(DISCOVER), ...pxeRom(7), ...user("iPXE")], unknown, "proxy-offer OFFER", { mode: "auto-proxy" }],
    ["auto-proxy: unknown dhclient -> silence", [...type(DISCOVER)], unknown, "drop not-pxe", { mode: "auto-proxy" }],
    ["auto-proxy: known, allowPXE false -> silence", [...type(DISCOVER), ...pxeRom()], {}, "drop pxe-not-allowed", { mode: "auto-proxy", hosts: hosts(iface({ netboot: { allowPXE: false } })) }],
    ["reservation: unknown PXE ROM -> silence", [...type(DISCOVER), ...pxeRom()], unknown, "drop unknown-mac", { mode: "reservation" }],
  ];
  for (const [name, options, fields, expected, extra] of cases) {
    test(name, () => expect(outcome(decideFor(options, { fields, ...extra }))).toBe(expected));
  }

  test("proxy offer: boot information only (PXE spec 2.2.5, RFC 4578)", () => {
    const d = replyOf(decideFor([...type(DISCOVER), ...pxeRom()], { mode: "proxy" }));
    const r = d.reply;
    expect(r).toMatchObject({ yiaddr: 0, siaddr: ip("10.0.0.5") });
    expect(text(r.sname)).toBe("10.0.0.5");
    expect(text(r.file)).toBe("undionly.kpxe");
    expect(getOption(r, 60)).toBe("PXEClient");
    expect(getOption(r, 97)).toEqual({ type: 0, guid: "4c4c4544-0038-5810-8033-b4c04f31324a" });
    expect(getOption(r, 43)).toEqual(Uint8Array.of(6, 1, 8, 255));
    expect(getOption(r, 54)).toBe(ip("10.0.0.1"));
    for (const code of [1, 3, 6, 12, 15, 28, 42, 51, 58, 59, 119, 121]) expect(r.options.has(code)).toBe(false);
    expect(d.delivery).toEqual({ kind: "broadcast", port: 68 });
  });

  test("proxy ack to a REQUEST with ciaddr goes back unicast", () => {
    const d = replyOf(decideFor([...type(REQUEST), ...pxeRom()], { mode: "proxy", fields: { ciaddr: "10.0.0.23" } }));
    expect(d.reply).toMatchObject({ yiaddr: 0, ciaddr: ip("10.0.0.23") });
    expect(d.delivery).toEqual({ kind: "unicast", ip: ip("10.0.0.23"), port: 68 });
  });

  test("proxy: UEFI HTTP boot gets HTTPClient and no PXE options", () => {
    const r = replyOf(decideFor([...type(DISCOVER), ...arch(16), ...vendor("HTTPClient:Arch:00016:UNDI:003001")], { mode: "proxy" })).reply;
    expect(getOption(r, 60)).toBe("HTTPClient");
    expect(r.options.has(43)).toBe(false);
    expect(text(r.file)).toBe("http://10.0.0.5:8080/ipxe/binary/ipxe.efi");
  });

  test("auto-proxy: unknown machines get the generic script, known ones their own", () => {
    const ipxe = [...type(DISCOVER), ...pxeRom(7), ...user("iPXE")];
    const unknown = replyOf(decideFor(ipxe, { mode: "auto-proxy", fields: { mac: OTHER_MAC_BYTES } })).reply;
    expect(text(unknown.file)).toBe("http://10.0.0.5:8080/ipxe/script/auto.ipxe");
    const known = replyOf(decideFor(ipxe, { mode: "auto-proxy" })).reply;
    expect(text(known.file)).toBe(`http://10.0.0.5:8080/ipxe/script/${MAC}/auto.ipxe`);
    const rom = replyOf(decideFor([...type(DISCOVER), ...pxeRom(7)], { mode: "auto-proxy", fields: { mac: OTHER_MAC_BYTES } })).reply;
    expect(text(rom.file)).toBe("ipxe.efi");
  });
});

describe("delivery (RFC 2131 4.1)", () => {
  const relayHost = hosts(iface({ dhcp: { ip: { address: "10.20.0.23", netmask: "255.255.255.0", gateway: "10.20.0.1" } } }));
  const cases: Array<[string, number[], RequestFields, Delivery, ReturnType<typeof hosts>?]> = [
    ["relayed: to giaddr, port 67", [...type(DISCOVER)], { giaddr: "10.20.0.1", flags: 0x8000 }, { kind: "relay", ip: ip("10.20.0.1"), port: 67 }, relayHost],
    ["relayed NAK: to giaddr too", [...type(REQUEST), ...requestedIp("10.20.0.99")], { giaddr: "10.20.0.1" }, { kind: "relay", ip: ip("10.20.0.1"), port: 67 }, relayHost],
    ["NAK: broadcast even with ciaddr", [...type(REQUEST)], { ciaddr: "10.0.0.77" }, { kind: "broadcast", port: 68 }],
    ["ciaddr: unicast to it", [...type(REQUEST)], { ciaddr: "10.0.0.23", flags: 0x8000 }, { kind: "unicast", ip: ip("10.0.0.23"), port: 68 }],
    ["broadcast flag: broadcast", [...type(DISCOVER)], { flags: 0x8000 }, { kind: "broadcast", port: 68 }],
    ["no address, no flag: yiaddr at chaddr", [...type(DISCOVER)], {}, { kind: "unicast-mac", ip: ip("10.0.0.23"), mac: MAC, port: 68 }],
  ];
  for (const [name, options, fields, delivery, list] of cases) {
    test(name, () => expect(replyOf(decideFor(options, { fields, hosts: list })).delivery).toEqual(delivery));
  }

  test("a relayed NAK sets the broadcast bit for the relay (RFC 2131 4.3.2)", () => {
    const d = replyOf(decideFor([...type(REQUEST), ...requestedIp("10.20.0.99")], { fields: { giaddr: "10.20.0.1" }, hosts: relayHost }));
    expect(d.event).toBe("nak");
    expect(d.reply.flags & 0x8000).toBe(0x8000);
    expect(d.reply.giaddr).toBe(ip("10.20.0.1"));
  });
});

describe("relays and subnets", () => {
  const onRelayNet = hosts(iface({ dhcp: { ip: { address: "10.20.0.23", netmask: "255.255.255.0", gateway: "10.20.0.1" } } }));
  const agentInfo = opt(82, ...opt(1, ...str("ge-0/0/7.0")), ...opt(2, 0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc));

  test("option 82 comes back unchanged, as the last option (RFC 3046 2.2)", () => {
    for (const t of [DISCOVER, REQUEST]) {
      const options = [...type(t), ...agentInfo, ...(t === REQUEST ? requestedIp("10.20.0.23") : [])];
      const d = replyOf(decideFor(options, { fields: { giaddr: "10.20.0.1" }, hosts: onRelayNet }));
      expect(d.reply.options.get(82)).toEqual(Uint8Array.from(agentInfo.slice(2)));
      expect([...d.reply.options.keys()].at(-1)).toBe(82);
    }
    const nak = replyOf(decideFor([...type(REQUEST), ...agentInfo, ...requestedIp("10.20.0.99")], { fields: { giaddr: "10.20.0.1" }, hosts: onRelayNet }));
    expect(nak.reply.options.get(82)).toEqual(Uint8Array.from(agentInfo.slice(2)));
  });

  const subnetCases: Array<[string, number[], RequestFields, string]> = [
    ["giaddr on the reservation's subnet", [], { giaddr: "10.20.0.1" }, "offer OFFER"],
    ["giaddr on another subnet", [], { giaddr: "10.30.0.1" }, "drop wrong-subnet"],
    ["option 118 wins over giaddr (RFC 3011)", subnetSelection("10.20.0.0"), { giaddr: "10.30.0.1" }, "offer OFFER"],
    ["option 118 naming another subnet", subnetSelection("10.30.0.0"), { giaddr: "10.20.0.1" }, "drop wrong-subnet"],
    ["link selection in option 82 (RFC 3527)", opt(82, ...opt(5, 10, 20, 0, 0)), { giaddr: "10.30.0.1" }, "offer OFFER"],
    ["not relayed: the receiving interface's network decides", [], {}, "drop wrong-subnet"],
  ];
  for (const [name, options, fields, expected] of subnetCases) {
    test(name, () => expect(outcome(decideFor([...type(DISCOVER), ...options], { fields, hosts: onRelayNet }))).toBe(expected));
  }

  test("no interface network known: no subnet check", () => {
    expect(outcome(decideFor([...type(DISCOVER)], { hosts: onRelayNet, ctx: { ifaceNetwork: undefined } }))).toBe("offer OFFER");
  });
});

describe("options from the Hardware", () => {
  const offer = (options: number[] = [], list = hosts(iface()), config = {}) =>
    replyOf(decideFor([...type(DISCOVER), ...options], { hosts: list, config })).reply;

  test("network, names, lease and timers", () => {
    const r = offer();
    expect(getOption(r, 1)).toBe(ip("255.255.255.0"));
    expect(getOption(r, 3)).toEqual([ip("10.0.0.254")]);
    expect(getOption(r, 6)).toEqual([ip("10.0.0.53"), ip("1.1.1.1")]);
    expect(getOption(r, 12)).toBe("node-1");
    expect(getOption(r, 15)).toBe("lab.example.com");
    expect(getOption(r, 28)).toBe(ip("10.0.0.255"));
    expect(getOption(r, 42)).toEqual([ip("10.0.0.123")]);
    expect(getOption(r, 51)).toBe(3600);
    expect(getOption(r, 54)).toBe(ip("10.0.0.1"));
    expect(getOption(r, 58)).toBe(1800); // RFC 2131 4.4.5: T1 = 0.5 lease
    expect(getOption(r, 59)).toBe(3150); // T2 = 0.875 lease
    expect(getOption(r, 119)).toEqual(["lab.example.com"]);
    expect(r.options.has(121)).toBe(false);
  });

  test("the configured lease when the Hardware gives none; an odd lease rounds T1/T2 down", () => {
    const r = offer([], hosts(iface({ dhcp: { lease_time: undefined } })), { defaultLeaseTime: 7201 });
    expect([getOption(r, 51), getOption(r, 58), getOption(r, 59)]).toEqual([7201, 3600, 6300]);
  });

  test("classless routes include the default route (RFC 3442)", () => {
    const routes = [{ destination_descriptor: "172.16.0.0/12", router: "10.0.0.2" }, { destination_descriptor: "192.168.7.9/24", router: "10.0.0.3" }, { destination_descriptor: "bogus", router: "x" }];
    const r = offer([], hosts(iface({ dhcp: { classless_static_routes: routes } })));
    expect(getOption(r, 121)).toEqual([
      { destination: ip("172.16.0.0"), prefix: 12, router: ip("10.0.0.2") },
      { destination: ip("192.168.7.0"), prefix: 24, router: ip("10.0.0.3") },
      { destination: 0, prefix: 0, router: ip("10.0.0.254") },
    ]);
    expect(getOption(r, 3)).toEqual([ip("10.0.0.254")]);
    const withDefault = offer([], hosts(iface({ dhcp: { classless_static_routes: [{ destination_descriptor: "0.0.0.0/0", router: "10.0.0.9" }] } })));
    expect(getOption(withDefault, 121)).toEqual([{ destination: 0, prefix: 0, router: ip("10.0.0.9") }]);
  });

  test("absent fields send no option", () => {
    const bare = hosts({ dhcp: { mac: MAC, ip: { address: "10.0.0.23" } }, netboot: { allowPXE: true } });
    const r = offer([], bare);
    expect([...r.options.keys()]).toEqual([53, 54, 51, 58, 59]);
  });

  test("options in the order of option 55 (RFC 2132 9.8), then what is always sent", () => {
    const r = offer(prl(15, 6, 3, 1, 28));
    expect([...r.options.keys()]).toEqual([53, 15, 6, 3, 1, 28, 54, 51, 58, 59]);
    // Unrequested extras (12, 42, 119) stay out; what PXE needs goes in unasked.
    const pxe = offer([...pxeRom(), ...prl(3, 1)]);
    expect([...pxe.options.keys()]).toEqual([53, 3, 1, 54, 51, 58, 59, 60, 66, 67, 43, 97]);
  });

  test("an infinite lease has no timers (RFC 2132 9.2)", () => {
    const r = offer([], hosts(iface({ dhcp: { lease_time: 0xffffffff } })));
    expect(getOption(r, 51)).toBe(0xffffffff);
    expect(r.options.has(58) || r.options.has(59)).toBe(false);
  });

  test("a reply fits the client's maximum message size, keeping what booting needs", () => {
    const routes = Array.from({ length: 40 }, (_, i) => ({ destination_descriptor: `10.${100 + i}.0.0/16`, router: "10.0.0.2" }));
    const list = hosts(iface({ dhcp: { classless_static_routes: routes, domain_name: "a-rather-long-domain.lab.example.com" } }));
    for (const [extra, limit] of [[[], 548], [maxSize(1500), 1472]] as const) {
      const r = offer([...pxeRom(), ...prl(1, 3, 6, 15, 121), ...extra], list);
      expect(dhcpLength(r)).toBeLessThanOrEqual(limit);
      for (const code of [53, 54, 51, 1, 3, 43, 60, 66, 67, 97]) expect(r.options.has(code)).toBe(true);
    }
    expect(offer([...pxeRom(), ...maxSize(1500)], list).options.has(121)).toBe(true);
  });

  test("a reply encodes and decodes back to itself", () => {
    const r = offer([...pxeRom(), ...prl(1, 3, 6, 43, 60, 66, 67)]);
    const buf = new Uint8Array(1500);
    const n = encodeDhcp(r, buf);
    const back = decodeDhcp(buf.subarray(0, n));
    expect(back.ok && back.value.options.size).toBe(r.options.size);
    expect(back.ok && getOption(back.value, 67)).toBe("undionly.kpxe");
  });
});

describe("never throws", () => {
  test("a lookup that throws becomes a drop", () => {
    const { req, cls } = (() => {
      const r = decodeDhcp(HAND_BUILT["pxe-rom-discover"]!);
      if (!r.ok) throw new Error(r.error);
      return { req: r.value, cls: classifyDhcp(r.value) };
    })();
    const lookup = { byMac: () => { throw new Error("boom"); }, byIp: () => undefined };
    expect(decide(req, cls, CTX, lookup, CONFIG)).toMatchObject({ kind: "drop", reason: "internal-error", detail: "boom" });
  });

  test("mutated real packets in every mode: a drop with a listed reason, or a reply that encodes", () => {
    const seeds = Object.values(HAND_BUILT);
    const lookup = lookupOf([...hosts(iface()), ...hosts(iface({ dhcp: { mac: "0c:c4:7a:01:02:03", classless_static_routes: [{ destination_descriptor: "10.9.0.0/16", router: "10.0.0.2" }] } }))]);
    const buf = new Uint8Array(1500);
    const modes: DhcpMode[] = ["reservation", "proxy", "auto-proxy", "off"];
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }), fc.nat(3), (seed, flips, mode) => {
        const bytes = Uint8Array.from(seeds[seed]!);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        const r = decodeDhcp(bytes);
        if (!r.ok) return;
        const d = decide(r.value, classifyDhcp(r.value), CTX, lookup, { ...CONFIG, mode: modes[mode]! });
        if (d.kind === "drop") {
          expect(Object.keys(DROP_REASONS)).toContain(d.reason);
          expect(d.reason).not.toBe("internal-error" satisfies DropReason);
        } else {
          expect(encodeDhcp(d.reply, buf)).toBeGreaterThanOrEqual(300);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
