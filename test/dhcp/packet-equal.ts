import type { DhcpPacket } from "../../daemon/dhcp/codec.ts";

const SCALARS = ["op", "htype", "hlen", "hops", "xid", "secs", "flags", "ciaddr", "yiaddr", "siaddr", "giaddr"] as const;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The first difference between two packets' values, or undefined if equal (option order aside). */
export function packetDifference(a: DhcpPacket, b: DhcpPacket): string | undefined {
  for (const k of SCALARS) if (a[k] !== b[k]) return `${k}: ${a[k]} != ${b[k]}`;
  if (!sameBytes(a.chaddr, b.chaddr)) return "chaddr differs";
  if (!sameBytes(a.sname, b.sname)) return "sname differs";
  if (!sameBytes(a.file, b.file)) return "file differs";
  if (a.options.size !== b.options.size) return `option count ${a.options.size} != ${b.options.size}`;
  for (const [code, value] of a.options) {
    const other = b.options.get(code);
    if (other === undefined || !sameBytes(value, other)) return `option ${code} differs`;
  }
  return undefined;
}
