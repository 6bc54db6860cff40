/**
 * The DHCP server: the only DHCP file that touches sockets. One UDP socket per chosen interface
 * (0.0.0.0:67, SO_BINDTODEVICE); each packet goes decode -> classify -> decide -> encode into
 * the socket's own reply buffer -> delivery as the decision says (RFC 2131 4.1).
 */
import type { udp } from "bun";
import { WispError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Counter, Family, Histogram, MetricsRegistry } from "../lib/metrics.ts";
import type { Result } from "../lib/result.ts";
import { bindToDevice, interfaceIPv4, setArpEntry, setReceiveBuffer, type InterfaceAddress } from "../net/libc.ts";
import { formatIpv4 } from "../wire/address.ts";
import { classifyDhcp, type ClassifyConfig, type DhcpClassification } from "./classify.ts";
import { dhcpLength, encodeDhcp, type DhcpPacket } from "./codec.ts";
import { DhcpDecoder } from "./decoder.ts";
import { getOption, MESSAGE_TYPES } from "./options.ts";
import type { Decide, Decision, DhcpHost, DhcpPolicyConfig, HardwareLookup, ReceiveContext } from "./types.ts";

/** The server port (RFC 2131 4.1). */
export const DHCP_SERVER_PORT = 67;
/** Reply buffer per socket: a 1500-byte Ethernet frame less the IPv4 and UDP headers. */
export const REPLY_BUFFER_SIZE = 1472;
/** How long an interface's address is trusted before it is read again. */
export const INTERFACE_REFRESH_MS = 10_000;
/**
 * Receive buffer per DHCP socket. The kernel default (~208 KiB) holds a few hundred requests: at
 * thousands per second a collection pause or a burst of a boot storm overflows it, and the kernel
 * drops what the server never sees. 4 MiB absorbs about a second of a 4,000/s storm.
 */
export const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** At most this many warnings per second per interface; the rest are only counted. */
export const WARNINGS_PER_SECOND = 10;

const SO_REUSEADDR_FLAG = 16; // Bun.udpSocket `flags`: SO_REUSEADDR, so several sockets share :67
const LIMITED_BROADCAST = "255.255.255.255"; // RFC 2131 4.1: broadcast to the client's link
const DECLINE = 4; // RFC 2132 9.6
const RELEASE = 7; // RFC 2132 9.6

/** The socket-level calls the server makes; tests replace them to run without privileges. */
export interface DhcpNet {
  bindToDevice(fd: number, ifname: string): Result<void>;
  setArpEntry(ifname: string, ip: number, mac: Uint8Array | string, fd?: number): Result<void>;
  interfaceIPv4(ifname: string): Result<InterfaceAddress>;
  /** Optional: tests on loopback leave the kernel default. */
  setReceiveBuffer?(fd: number, bytes: number): Result<"forced" | "capped">;
}

/** What the server needs from the process. */
export interface DhcpServerOptions {
  /** `--dhcp-interface`: the links the server answers on, and no others. */
  interfaces: string[];
  lookup: HardwareLookup;
  config: DhcpPolicyConfig;
  decide: Decide;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Port to bind; DHCP_SERVER_PORT unless a test says otherwise. */
  port?: number;
  /** Option 54 on every link when the operator set `--public-ip` (e.g. a VIP); else each link's own address. */
  serverIdentifier?: number;
  net?: DhcpNet;
}

/** A running server. */
export interface DhcpServer {
  /** Each interface with the port it listens on and the address it identifies itself with. */
  readonly listeners: readonly { iface: string; port: number; serverIp: string }[];
  close(): void;
}

/** The counters the server keeps (names fixed: dashboards and tests read them). */
interface DhcpMetrics {
  requests: Family<Counter>;
  replies: Family<Counter>;
  drops: Family<Counter>;
  fallbacks: Family<Counter>;
  decisionSeconds: Family<Histogram>;
}

function dhcpMetrics(registry: MetricsRegistry): DhcpMetrics {
  return {
    requests: registry.counter("wisp_dhcp_requests_total", "DHCP packets received, by interface and message type", ["iface", "type"]),
    replies: registry.counter("wisp_dhcp_replies_total", "DHCP replies sent, by interface and message type", ["iface", "type"]),
    drops: registry.counter("wisp_dhcp_drops_total", "DHCP packets not answered, by interface and reason", ["iface", "reason"]),
    fallbacks: registry.counter(
      "wisp_dhcp_delivery_fallbacks_total",
      "replies broadcast because the chosen delivery failed, by interface and reason",
      ["iface", "reason"],
    ),
    decisionSeconds: registry.histogram(
      "wisp_dhcp_decision_seconds",
      "time to classify a request and decide the reply",
      ["iface"],
      [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01],
    ),
  };
}

// Metric label of a message type: "discover", "offer", ...; "bootp" without option 53.
const TYPE_LABELS: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(MESSAGE_TYPES).map(([code, name]) => [code, name.toLowerCase()]),
);
const typeLabel = (type: number | undefined): string => (type === undefined ? "bootp" : (TYPE_LABELS[type] ?? "unknown"));

const DEFAULT_NET: DhcpNet = { bindToDevice, setArpEntry, interfaceIPv4, setReceiveBuffer };

// Metric children of one interface, found once: `labels()` walks a tree of Maps and its rest
// parameter allocates, which at thousands of packets a second is work for nothing.
interface ListenerMetrics {
  /** By option 53 value; BOOTP_SLOT for no option 53, INVALID_SLOT for undecodable packets. */
  requests: (Counter | undefined)[];
  replies: (Counter | undefined)[];
  drops: Map<string, Counter>;
  decisionSeconds: Histogram;
}
const BOOTP_SLOT = 256;
const INVALID_SLOT = 257;

// One socket's state: its reply buffer is reused for every packet (sends copy it synchronously).
interface Listener {
  iface: string;
  socket: udp.Socket<"uint8array">;
  /** The socket's descriptor, for setsockopt and the ARP ioctl. */
  fd: number;
  reply: Uint8Array;
  ctx: ReceiveContext;
  addressReadAt: number;
  warnings: { second: number; count: number; suppressed: number };
  /** Reused for every packet: a request's fields are views over the received bytes. */
  decoder: DhcpDecoder;
  metrics: ListenerMetrics;
  /** The last destination as text: a relay's giaddr repeats, so it is formatted once. */
  lastIp: number;
  lastAddress: string;
}

/** Opens one socket per interface and answers on each; throws a WispError when one cannot be opened. */
export async function startDhcpServer(opts: DhcpServerOptions): Promise<DhcpServer> {
  const { logger, config, decide, lookup } = opts;
  const net = opts.net ?? DEFAULT_NET;
  const port = opts.port ?? DHCP_SERVER_PORT;
  const metrics = dhcpMetrics(opts.metrics);
  const classifyConfig: ClassifyConfig = { wispUserClass: config.wispUserClass };
  const listeners: Listener[] = [];

  const closeAll = () => {
    for (const l of listeners) l.socket.close();
  };

  function requestCounter(l: Listener, type: number | undefined, invalid = false): Counter {
    const slot = invalid ? INVALID_SLOT : (type ?? BOOTP_SLOT);
    return (l.metrics.requests[slot] ??= metrics.requests.labels(l.iface, invalid ? "invalid" : typeLabel(type)));
  }

  function replyCounter(l: Listener, type: number | undefined): Counter {
    return (l.metrics.replies[type ?? BOOTP_SLOT] ??= metrics.replies.labels(l.iface, typeLabel(type)));
  }

  function dropCounter(l: Listener, reason: string): Counter {
    let c = l.metrics.drops.get(reason);
    if (c === undefined) l.metrics.drops.set(reason, (c = metrics.drops.labels(l.iface, reason)));
    return c;
  }

  function listenerMetrics(iface: string): ListenerMetrics {
    return { requests: [], replies: [], drops: new Map(), decisionSeconds: metrics.decisionSeconds.labels(iface) };
  }

  // Warnings from the network are throttled: a flood of bad packets must not flood the log.
  function warn(l: Listener, fields: Record<string, unknown>, msg: string): void {
    const second = Math.floor(performance.now() / 1000);
    const w = l.warnings;
    if (w.second !== second) {
      w.second = second;
      w.count = 0;
    }
    if (++w.count > WARNINGS_PER_SECOND) {
      w.suppressed++;
      return;
    }
    const suppressed = w.suppressed;
    w.suppressed = 0;
    logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg);
  }

  function refreshAddress(l: Listener, now: number): void {
    if (now - l.addressReadAt < INTERFACE_REFRESH_MS) return;
    l.addressReadAt = now;
    const addr = net.interfaceIPv4(l.iface);
    if (addr.ok) {
      l.ctx.serverIp = opts.serverIdentifier ?? addr.value.address;
      l.ctx.ifaceNetwork = addr.value;
    }
  }

  function onPacket(l: Listener, data: Uint8Array, peerPort: number, peerAddress: string): void {
    try {
      handle(l, data, peerPort, peerAddress);
    } catch (e) {
      // A bug, not bad input: the packet is lost, the server lives on.
      dropCounter(l, "internal-error").inc();
      logger.error({ err: e, iface: l.iface, peer: `${peerAddress}:${peerPort}` }, "dhcp packet handling failed");
    }
  }

  function handle(l: Listener, data: Uint8Array, peerPort: number, peerAddress: string): void {
    const decoded = l.decoder.decode(data);
    if (!decoded.ok) {
      requestCounter(l, undefined, true).inc();
      dropCounter(l, "decode-error").inc();
      warn(l, { iface: l.iface, peer: `${peerAddress}:${peerPort}`, bytes: data.length, error: decoded.error }, "malformed dhcp packet");
      return;
    }
    const req = decoded.value;
    const cls = classifyDhcp(req, classifyConfig);
    requestCounter(l, cls.messageType).inc();
    if (cls.messageType === DECLINE || cls.messageType === RELEASE) logClientNotice(l, req, cls, peerPort, peerAddress);

    const started = performance.now();
    refreshAddress(l, started);
    const decision = decide(req, cls, l.ctx, lookup, config);
    l.metrics.decisionSeconds.observe((performance.now() - started) / 1000);

    if (decision.kind === "drop") {
      dropCounter(l, decision.reason).inc();
      if (logger.isLevelEnabled("debug")) {
        const fields = packetFields(l, req, cls, peerPort, peerAddress);
        logger.debug({ ...fields, reason: decision.reason, detail: decision.detail, hardware: hardwareName(decision) }, "dhcp request dropped");
      }
      return;
    }
    deliver(l, req, cls, decision, peerPort, peerAddress);
  }

  function deliver(
    l: Listener,
    req: DhcpPacket,
    cls: DhcpClassification,
    decision: Extract<Decision, { kind: "reply" }>,
    peerPort: number,
    peerAddress: string,
  ): void {
    const { reply, delivery } = decision;
    const size = dhcpLength(reply);
    if (size > l.reply.length) {
      dropCounter(l, "reply-too-large").inc();
      logger.error({ ...packetFields(l, req, cls, peerPort, peerAddress), hardware: hardwareName(decision), bytes: size, max: l.reply.length }, "dhcp reply too large");
      return;
    }
    const view = l.reply.subarray(0, encodeDhcp(reply, l.reply, 0));
    let address: string;
    let how: string = delivery.kind;
    switch (delivery.kind) {
      case "relay":
      case "unicast":
        address = addressText(l, delivery.ip);
        break;
      case "broadcast":
        address = LIMITED_BROADCAST;
        break;
      case "unicast-mac": {
        // RFC 2131 4.1: no address and no broadcast flag -> unicast to yiaddr at chaddr; the
        // kernel cannot ARP for an address the client does not have yet, so we tell it.
        const mac = cls.mac === delivery.mac ? req.chaddr : delivery.mac;
        const arp = net.setArpEntry(l.iface, delivery.ip, mac, l.fd);
        if (arp.ok) {
          address = addressText(l, delivery.ip);
        } else {
          metrics.fallbacks.labels(l.iface, "arp-failed").inc();
          warn(l, { iface: l.iface, mac: delivery.mac, hardware: hardwareName(decision), error: arp.error }, "arp entry not set; broadcasting the reply");
          address = LIMITED_BROADCAST;
          how = "broadcast";
        }
        break;
      }
    }
    const type = reply.options.get(53)?.[0];
    try {
      if (!l.socket.send(view, delivery.port, address)) throw new Error("socket buffer full");
    } catch (e) {
      dropCounter(l, "send-failed").inc();
      warn(l, { iface: l.iface, peer: `${address}:${delivery.port}`, mac: cls.mac, hardware: hardwareName(decision), error: (e as Error).message }, "dhcp reply not sent");
      return;
    }
    replyCounter(l, type).inc();
    // The fields are built only when the line is written: at --log-level warn (a busy
    // installation) a reply costs no strings.
    if (!logger.isLevelEnabled("info")) return;
    logger.info(
      {
        ...packetFields(l, req, cls, peerPort, peerAddress),
        hardware: hardwareName(decision),
        message: typeLabel(type).toUpperCase(),
        event: decision.event,
        yiaddr: formatIpv4(reply.yiaddr),
        delivery: how,
        to: `${address}:${delivery.port}`,
        ...bootFields(reply),
      },
      "dhcp reply",
    );
  }

  function logClientNotice(l: Listener, req: DhcpPacket, cls: DhcpClassification, peerPort: number, peerAddress: string): void {
    const requested = getOption(req, 50);
    const ip = requested ?? req.ciaddr;
    logger.info(
      { ...packetFields(l, req, cls, peerPort, peerAddress), ip: formatIpv4(ip), hardware: hostName(lookup.byMac(cls.mac)) },
      cls.messageType === DECLINE ? "dhcp decline" : "dhcp release",
    );
  }

  for (const iface of opts.interfaces) {
    try {
      listeners.push(await openListener(iface, port, net, opts, onPacket, warn, listenerMetrics(iface)));
    } catch (e) {
      closeAll();
      throw e;
    }
  }
  for (const l of listeners) {
    logger.info({ iface: l.iface, port: l.socket.port, serverIp: formatIpv4(l.ctx.serverIp), mode: config.mode }, "dhcp listening");
  }
  return {
    listeners: listeners.map((l) => ({ iface: l.iface, port: l.socket.port, serverIp: formatIpv4(l.ctx.serverIp) })),
    close: closeAll,
  };
}

async function openListener(
  iface: string,
  port: number,
  net: DhcpNet,
  opts: DhcpServerOptions,
  onPacket: (l: Listener, data: Uint8Array, port: number, address: string) => void,
  warn: (l: Listener, fields: Record<string, unknown>, msg: string) => void,
  metrics: ListenerMetrics,
): Promise<Listener> {
  const addr = net.interfaceIPv4(iface);
  if (!addr.ok) {
    const fields = { iface, error: addr.error, serverIp: formatIpv4(opts.config.publicIp) };
    opts.logger.warn(fields, "dhcp interface has no ipv4 address; using the public ip");
  }
  const ctx: ReceiveContext = addr.ok
    ? { ifaceName: iface, serverIp: opts.serverIdentifier ?? addr.value.address, ifaceNetwork: addr.value }
    : { ifaceName: iface, serverIp: opts.serverIdentifier ?? opts.config.publicIp };
  // Packets are ignored until the socket is bound to its interface (holder.l is set): in that
  // instant after bind it may see another link's traffic.
  const holder: { l?: Listener } = {};
  let socket: udp.Socket<"uint8array">;
  try {
    socket = await Bun.udpSocket({
      hostname: "0.0.0.0",
      port,
      binaryType: "uint8array",
      // `flags` is not in bun-types yet; 16 = SO_REUSEADDR (measured on Bun 1.4).
      ...({ flags: SO_REUSEADDR_FLAG } as object),
      socket: {
        data: (_s, data, peerPort, peerAddress) => {
          if (holder.l) onPacket(holder.l, data, peerPort, peerAddress);
        },
        // Bun passes the error first on some versions, (socket, error) on others.
        error: (a: unknown, b?: unknown) => {
          const e = a instanceof Error ? a : b;
          if (holder.l) warn(holder.l, { iface, err: e }, "dhcp socket error");
        },
      },
    });
  } catch (e) {
    const why = `${(e as Error).message} (port 67 needs root or CAP_NET_BIND_SERVICE)`;
    throw new WispError("invalid_argument", `dhcp: cannot listen on 0.0.0.0:${port} for ${iface}: ${why}`, { field: "dhcp-interface" });
  }
  const fd = (socket as unknown as { fd: number }).fd;
  const device = net.bindToDevice(fd, iface);
  if (!device.ok) {
    socket.close();
    throw new WispError("invalid_argument", `dhcp: --dhcp-interface ${iface}: ${device.error}`, { field: "dhcp-interface" });
  }
  socket.setBroadcast(true);
  const buffer = net.setReceiveBuffer?.(fd, RECEIVE_BUFFER_BYTES);
  if (buffer && !buffer.ok) opts.logger.warn({ iface, error: buffer.error }, "dhcp receive buffer left at the kernel default");
  else if (buffer) opts.logger.debug({ iface, bytes: RECEIVE_BUFFER_BYTES, how: buffer.value }, "dhcp receive buffer set");
  const l: Listener = {
    iface,
    socket,
    fd,
    reply: new Uint8Array(REPLY_BUFFER_SIZE),
    ctx,
    addressReadAt: performance.now(),
    warnings: { second: 0, count: 0, suppressed: 0 },
    decoder: new DhcpDecoder(),
    metrics,
    lastIp: -1,
    lastAddress: "",
  };
  holder.l = l;
  return l;
}

// The fixed log fields of a packet (STYLE: mac, xid, iface, peer).
function packetFields(l: Listener, req: DhcpPacket, cls: DhcpClassification, peerPort: number, peerAddress: string): Record<string, unknown> {
  return {
    mac: cls.mac,
    xid: `0x${req.xid.toString(16).padStart(8, "0")}`,
    iface: l.iface,
    peer: `${peerAddress}:${peerPort}`,
    type: cls.messageType === undefined ? "BOOTP" : (MESSAGE_TYPES as Record<number, string>)[cls.messageType],
    ...(cls.relayed ? { giaddr: formatIpv4(req.giaddr) } : {}),
  };
}

// Dotted text of a destination, formatted again only when it changes.
function addressText(l: Listener, ip: number): string {
  if (ip !== l.lastIp) {
    l.lastIp = ip;
    l.lastAddress = formatIpv4(ip);
  }
  return l.lastAddress;
}

function hardwareName(d: Decision): string | undefined {
  return hostName(d.host);
}

function hostName(host: DhcpHost | undefined): string | undefined {
  return host ? `${host.namespace}/${host.hardwareName}` : undefined;
}

const text = new TextDecoder();

// Boot information of a reply, for its log line: TFTP file and server, or the URL given.
function bootFields(reply: DhcpPacket): Record<string, string> {
  const out: Record<string, string> = {};
  const file = reply.file.length > 0 ? text.decode(reply.file) : getOption(reply, 67);
  if (file) out.bootFile = file;
  if (reply.siaddr !== 0) out.nextServer = formatIpv4(reply.siaddr);
  return out;
}

