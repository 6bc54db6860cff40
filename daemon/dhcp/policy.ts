/**
 * The DHCP policy: a request, its classification, where it arrived and what Wisp knows -> the
 * reply and its delivery, or a drop and its reason. Pure: no I/O, no logging, never throws.
 * Messages follow RFC 2131 4.3; modes and boot paths follow COMPAT section 2 (smee).
 */
import { formatIpv4, ipv4FromBytes } from "../wire/address.ts";
import { chooseBoot, type BootReply } from "./boot.ts";
import type { DhcpClassification } from "./classify.ts";
import { BOOTREQUEST, type DhcpPacket } from "./codec.ts";
import { ACK, OFFER, deliveryOf, fillReply, nakTo, replyTo, setServerName } from "./reply.ts";
import type { Decide, Decision, DhcpHost, DhcpPolicyConfig, HardwareLookup, ReceiveContext } from "./types.ts";

/** Why the policy stays silent: stable names, counted as metrics, with what each means. */
export const DROP_REASONS = {
  "dhcp-off": "--dhcp-mode off: Wisp answers no DHCP",
  "not-request": "op is not BOOTREQUEST",
  "not-ethernet": "htype/hlen are not Ethernet (1/6)",
  "no-message-type": "no option 53: plain BOOTP, not served",
  "unsupported-message-type": "a message type this mode does not answer",
  "other-server": "option 54 names another server: the client chose it",
  "unknown-mac": "no Hardware has this MAC",
  disabled: "the Hardware interface has disableDhcp",
  "no-reservation": "the Hardware interface has no IP address to lease",
  "wrong-subnet": "the reserved address is not on the client's subnet",
  "no-requested-address": "a REQUEST with neither option 50 nor ciaddr",
  "not-pxe": "proxy mode: not a PXE, HTTP boot or iPXE client",
  "pxe-not-allowed": "proxy mode: the Hardware has allowPXE false",
  "no-boot-file": "proxy mode: no boot file for this client's architecture",
  decline: "DHCPDECLINE: the client found the address in use",
  release: "DHCPRELEASE: the client gave the address up",
  "internal-error": "the policy failed; a bug",
} as const satisfies Record<string, string>;

/** One of DROP_REASONS. */
export type DropReason = keyof typeof DROP_REASONS;

/** The `event` of a reply Decision, by what was sent. */
export const REPLY_EVENTS = ["offer", "ack", "nak", "inform", "proxy-offer", "proxy-ack"] as const;
export type ReplyEvent = (typeof REPLY_EVENTS)[number];

// Option 53 values of requests (RFC 2132 9.6).
const DISCOVER = 1;
const REQUEST = 3;
const DECLINE = 4;
const RELEASE = 7;
const INFORM = 8;

/** Decides the reply to one request; see DROP_REASONS for every silence. */
export const decide: Decide = (req, cls, ctx, lookup, config) => {
  try {
    return decideRequest(req, cls, ctx, lookup, config);
  } catch (e) {
    return drop("internal-error", undefined, e instanceof Error ? e.message : String(e));
  }
};

function decideRequest(req: DhcpPacket, cls: DhcpClassification, ctx: ReceiveContext, lookup: HardwareLookup, config: DhcpPolicyConfig): Decision {
  if (config.mode === "off") return drop("dhcp-off");
  if (req.op !== BOOTREQUEST) return drop("not-request");
  if (req.htype !== 1 || req.hlen !== 6) return drop("not-ethernet");
  const type = cls.messageType;
  if (type === undefined) return drop("no-message-type");
  const host = lookup.byMac(cls.mac);
  if (type !== DISCOVER && type !== REQUEST && type !== DECLINE && type !== RELEASE && type !== INFORM) {
    return drop("unsupported-message-type", host);
  }
  // RFC 2131 4.3.2/4.3.3/4.3.4: REQUEST (SELECTING), DECLINE and RELEASE name their server.
  const serverId = req.options.get(54);
  if (serverId !== undefined && type !== DISCOVER && type !== INFORM && ipv4FromBytes(serverId) !== ctx.serverIp) {
    return drop("other-server", host);
  }
  if (type === DECLINE) return drop("decline", host);
  if (type === RELEASE) return drop("release", host);
  if (host?.disableDhcp) return drop("disabled", host);
  return config.mode === "reservation"
    ? reservation(req, cls, ctx, host, config, type, serverId !== undefined)
    : proxy(req, cls, ctx, host, config, type);
}

// A full DHCP server whose addresses come only from Hardware.
function reservation(
  req: DhcpPacket,
  cls: DhcpClassification,
  ctx: ReceiveContext,
  host: DhcpHost | undefined,
  config: DhcpPolicyConfig,
  type: number,
  selecting: boolean,
): Decision {
  if (host === undefined) return drop("unknown-mac");
  if (type === INFORM) {
    // RFC 2131 4.3.5: configuration only; no address and no lease time.
    const ack = replyTo(req, ACK);
    ack.ciaddr = req.ciaddr;
    const boot = chooseBoot(cls, host, config);
    fillReply(req, ack, { serverId: ctx.serverIp, host, lease: undefined, boot, guid: req.options.get(97) });
    return reply(req, cls, ack, host, "inform");
  }
  const ip = host.ip;
  if (ip === undefined) return drop("no-reservation", host);
  if (!onClientSubnet(req, ctx, host, ip)) return drop("wrong-subnet", host);
  if (type === REQUEST) {
    // RFC 2131 4.3.2: SELECTING names us in 54 and asks for 50; RENEWING/REBINDING carry ciaddr;
    // INIT-REBOOT asks for 50 with neither. We hold this MAC's reservation, so a wrong address is
    // ours to refuse.
    const requestedBytes = req.options.get(50);
    const requested = req.ciaddr !== 0 && !selecting ? req.ciaddr : requestedBytes !== undefined ? ipv4FromBytes(requestedBytes) : req.ciaddr;
    if (requested === 0) return drop("no-requested-address", host);
    if (requested !== ip) return reply(req, cls, nakTo(req, ctx.serverIp), host, "nak");
  }
  const out = replyTo(req, type === DISCOVER ? OFFER : ACK);
  out.yiaddr = ip;
  if (type === REQUEST) out.ciaddr = req.ciaddr;
  const lease = host.leaseTime ?? config.defaultLeaseTime;
  const boot = chooseBoot(cls, host, config);
  fillReply(req, out, { serverId: ctx.serverIp, host, lease, boot, guid: req.options.get(97) });
  return reply(req, cls, out, host, type === DISCOVER ? "offer" : "ack");
}

// ProxyDHCP (PXE 2.1 spec 2.2.5, RFC 4578): boot information only, beside the site's DHCP server.
function proxy(
  req: DhcpPacket,
  cls: DhcpClassification,
  ctx: ReceiveContext,
  host: DhcpHost | undefined,
  config: DhcpPolicyConfig,
  type: number,
): Decision {
  if (type === INFORM) return drop("unsupported-message-type", host);
  if (cls.client === undefined && cls.userClass === undefined) return drop("not-pxe", host);
  if (host === undefined && config.mode !== "auto-proxy") return drop("unknown-mac");
  if (host !== undefined && !host.allowPXE) return drop("pxe-not-allowed", host);
  const boot: BootReply | undefined = chooseBoot(cls, host, config);
  if (boot === undefined) return drop("no-boot-file", host);
  // PXE spec 2.2.5: a proxy offer carries no address, identifies itself with option 60 and
  // names the boot server in siaddr/sname; PXE clients match it by the GUID in option 97.
  if (boot.vendorClass === undefined) boot.vendorClass = "PXEClient";
  const out = replyTo(req, type === DISCOVER ? OFFER : ACK);
  if (type === REQUEST) out.ciaddr = req.ciaddr;
  setServerName(out, boot.tftpServer ?? formatIpv4(boot.nextServer));
  // No network options: the site's DHCP server owns those.
  fillReply(req, out, { serverId: ctx.serverIp, host: undefined, lease: undefined, boot, guid: req.options.get(97) });
  return reply(req, cls, out, host, type === DISCOVER ? "proxy-offer" : "proxy-ack");
}

/**
 * Whether the reserved address belongs where the client is: the subnet named by option 118
 * (RFC 3011), else by a relay's link selection (RFC 3527, option 82 sub-option 5), else by
 * giaddr, each compared under the Hardware's netmask; else the receiving interface's network.
 */
function onClientSubnet(req: DhcpPacket, ctx: ReceiveContext, host: DhcpHost, ip: number): boolean {
  const selection = req.options.get(118);
  const named = selection?.length === 4 ? ipv4FromBytes(selection) : linkSelection(req.options.get(82)) ?? (req.giaddr || undefined);
  if (named !== undefined) return host.netmask === undefined || sameNetwork(ip, named, host.netmask);
  const iface = ctx.ifaceNetwork;
  return iface === undefined || sameNetwork(ip, iface.address, iface.netmask);
}

// RFC 3527 3: option 82 sub-option 5, four bytes of an address on the client's link.
function linkSelection(info: Uint8Array | undefined): number | undefined {
  if (info === undefined) return undefined;
  for (let i = 0; i + 1 < info.length; i += 2 + info[i + 1]!) {
    if (info[i] === 5 && info[i + 1] === 4 && i + 6 <= info.length) return ipv4FromBytes(info, i + 2);
  }
  return undefined;
}

function sameNetwork(a: number, b: number, netmask: number): boolean {
  return ((a ^ b) & netmask) === 0;
}

function reply(req: DhcpPacket, cls: DhcpClassification, out: DhcpPacket, host: DhcpHost | undefined, event: ReplyEvent): Decision {
  return { kind: "reply", reply: out, delivery: deliveryOf(req, out, cls.mac), host, event };
}

function drop(reason: DropReason, host?: DhcpHost, detail?: string): Decision {
  return detail === undefined ? { kind: "drop", reason, host } : { kind: "drop", reason, detail, host };
}
