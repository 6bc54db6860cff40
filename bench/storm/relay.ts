/**
 * The storm's DHCP side: every machine's DHCP goes through one simulated relay agent, a single
 * UDP socket on the relay's address and port 67 that sets giaddr (and hops) as a relay does and
 * receives the server's answers to the relay, matched to their machine by xid. One socket for
 * thousands of clients is what lets one process on one core drive a 5,000-machine storm; a
 * dhclient per machine behind Debian's dhcrelay would be 5,000 processes (see the method in
 * docs/benchmarks/storm.md).
 */
import { decodeDhcp, dhcpPacket, encodeDhcp } from "../../daemon/dhcp/codec.ts";
import { getOption, setOption } from "../../daemon/dhcp/options.ts";
import { setReceiveBuffer } from "../../daemon/net/libc.ts";
import { formatIpv4, parseIpv4, parseMac } from "../../daemon/wire/address.ts";
import type { DhcpAnswer, MachineSpec } from "./machine.ts";

const DHCP_SERVER_PORT = 67; // RFC 2131 4.1: relays and servers both use 67
const DHCPDISCOVER = 1; // RFC 2132 9.6
const DHCPREQUEST = 3; // RFC 2132 9.6
/**
 * The relay socket's receive buffer: thousands of answers can arrive while the generator's event
 * loop is busy with TFTP and HTTP; a real relay forwards each to its own client, so the
 * generator must not be where answers are dropped (Linux's default, 208 KiB, holds ~90).
 */
const RELAY_RCVBUF = 32 << 20;
/** A BIOS PXE ROM's vendor class (PXE 2.1, 2.2.1: arch 0 = x86 BIOS, UNDI 2.1). */
const PXE_VENDOR_CLASS = "PXEClient:Arch:00000:UNDI:002001";
/** Options a PXE ROM asks for (55), as Intel's ROM sends them. */
const PXE_PARAMS = [1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135];
/** iPXE's: its user class (77) is "iPXE" (Debian's stock build). */
const IPXE_PARAMS = [1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203];

const ip = (text: string): number => {
  const r = parseIpv4(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

/** The xid of a machine's DHCP: unique per machine, round (PXE / iPXE) and attempt, so late answers never match. */
export function xidFor(index: number, as: "pxe" | "ipxe", attempt: number, request: boolean): number {
  return ((index & 0xffffff) << 8) | ((as === "ipxe" ? 1 : 0) << 7) | ((request ? 1 : 0) << 6) | (attempt & 0x3f);
}

/** The bytes a relay forwards for the machine: DISCOVER, or REQUEST for `offer`. */
export function clientMessage(m: MachineSpec, as: "pxe" | "ipxe", offer: DhcpAnswer | undefined, attempt: number, relayIp: string, secs: number): Uint8Array {
  const chaddr = parseMac(m.mac);
  if (!chaddr.ok) throw new Error(chaddr.error);
  const p = dhcpPacket({ op: 1, hops: 1, xid: xidFor(m.index, as, attempt, offer !== undefined), secs, flags: 0x8000, giaddr: ip(relayIp), chaddr: chaddr.value });
  setOption(p, 53, offer ? DHCPREQUEST : DHCPDISCOVER);
  setOption(p, 57, 1472);
  setOption(p, 60, PXE_VENDOR_CLASS);
  setOption(p, 93, [0]);
  setOption(p, 94, { type: 1, major: 2, minor: 1 });
  setOption(p, 55, as === "pxe" ? PXE_PARAMS : IPXE_PARAMS);
  if (as === "ipxe") setOption(p, 77, "iPXE");
  if (offer) {
    setOption(p, 50, ip(offer.yiaddr));
    if (offer.serverId) setOption(p, 54, ip(offer.serverId));
  }
  const out = new Uint8Array(600);
  return out.slice(0, encodeDhcp(p, out));
}

/** Reads what the machine needs from a server's answer; undefined for bytes that are not one. */
export function readAnswer(bytes: Uint8Array): { xid: number; answer: DhcpAnswer } | undefined {
  const d = decodeDhcp(bytes);
  if (!d.ok || d.value.op !== 2) return undefined;
  const p = d.value;
  const type = getOption(p, 53);
  const serverId = getOption(p, 54);
  // The boot file: the file field, else option 67 (a server may put it in either).
  const opt67 = p.options.get(67);
  // dnsmasq ends option 67 with a NUL (as some firmware wants); the name stops there.
  const file = new TextDecoder().decode(p.file.length > 0 ? p.file : (opt67 ?? new Uint8Array(0))).replace(/\0.*$/s, "");
  return {
    xid: p.xid,
    answer: { messageType: typeof type === "number" ? type : 0, yiaddr: formatIpv4(p.yiaddr), serverId: typeof serverId === "number" ? formatIpv4(serverId) : undefined, siaddr: formatIpv4(p.siaddr), file },
  };
}

/** The relay socket: `exchange` sends one message and resolves to its answer or undefined at the timeout. */
export class Relay {
  private readonly waiting = new Map<number, (a: DhcpAnswer) => void>();
  /** Messages forwarded, answers matched, and datagrams that matched no waiting machine. */
  sent = 0;
  answered = 0;
  stray = 0;

  private constructor(
    private readonly socket: Bun.udp.Socket<"uint8array">,
    private readonly relayIp: string,
    private readonly serverIp: string,
  ) {}

  /** Binds relayIp:67 (root, in the generator's namespace). */
  static async open(relayIp: string, serverIp: string): Promise<Relay> {
    let self: Relay | undefined;
    const socket = await Bun.udpSocket({
      hostname: relayIp,
      port: DHCP_SERVER_PORT,
      binaryType: "uint8array",
      socket: { data: (_s, data) => self?.onData(data) },
    });
    const buffer = setReceiveBuffer((socket as unknown as { fd: number }).fd, RELAY_RCVBUF);
    if (!buffer.ok) throw new Error(`relay socket: ${buffer.error}`);
    self = new Relay(socket, relayIp, serverIp);
    return self;
  }

  private onData(data: Uint8Array): void {
    const r = readAnswer(data);
    const resolve = r && this.waiting.get(r.xid);
    if (!resolve) {
      this.stray++;
      return;
    }
    this.waiting.delete(r.xid);
    this.answered++;
    resolve(r.answer);
  }

  /** Forwards the machine's message and waits up to `timeoutMs` for the answer. */
  exchange(m: MachineSpec, as: "pxe" | "ipxe", offer: DhcpAnswer | undefined, attempt: number, timeoutMs: number, secs: number): Promise<DhcpAnswer | undefined> {
    const bytes = clientMessage(m, as, offer, attempt, this.relayIp, secs);
    const xid = xidFor(m.index, as, attempt, offer !== undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(xid);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(xid, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.sent++;
      this.socket.send(bytes, DHCP_SERVER_PORT, this.serverIp);
    });
  }

  close(): void {
    this.socket.close();
  }
}
