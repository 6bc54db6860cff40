import { formatIpv4, formatMac } from "../wire/address.ts";
import { archName } from "./arch.ts";
import type { DhcpClassification } from "./classify.ts";
import type { DhcpPacket } from "./codec.ts";
import { checkValue, decodeValue } from "./option-values.ts";
import { MESSAGE_TYPES, RELAY_AGENT_SUBOPTIONS, optionSpec, type OptionSpec, type SubOption } from "./options.ts";

const utf8 = new TextDecoder();

/** A readable rendering of a packet: one field or decoded option per line, for goldens and debugging. */
export function renderDhcp(p: DhcpPacket): string {
  const lines = [
    `op: ${p.op}${p.op === 1 ? " BOOTREQUEST" : p.op === 2 ? " BOOTREPLY" : ""}`,
    `htype: ${p.htype}${p.htype === 1 ? " ethernet" : ""}`,
    `hlen: ${p.hlen}`,
    `hops: ${p.hops}`,
    `xid: 0x${p.xid.toString(16).padStart(8, "0")}`,
    `secs: ${p.secs}`,
    `flags: 0x${p.flags.toString(16).padStart(4, "0")}${p.flags & 0x8000 ? " broadcast" : ""}`,
    `ciaddr: ${formatIpv4(p.ciaddr)}`,
    `yiaddr: ${formatIpv4(p.yiaddr)}`,
    `siaddr: ${formatIpv4(p.siaddr)}`,
    `giaddr: ${formatIpv4(p.giaddr)}`,
    `chaddr: ${formatMac(p.chaddr)}`,
    `sname: ${JSON.stringify(utf8.decode(p.sname))}`,
    `file: ${JSON.stringify(utf8.decode(p.file))}`,
  ];
  for (const [code, bytes] of p.options) lines.push(renderOption(code, bytes));
  return lines.join("\n");
}

/** One option as "option <code> <name>: <value>". */
export function renderOption(code: number, bytes: Uint8Array): string {
  const spec = optionSpec(code);
  if (spec === undefined) return `option ${code}: ${text(bytes)}`;
  const bad = checkValue(spec.type, bytes);
  const value = bad === undefined ? renderValue(code, spec, bytes) : `invalid (${bad}): ${hex(bytes)}`;
  return `option ${code} ${spec.name}: ${value}`;
}

function renderValue(code: number, spec: OptionSpec, bytes: Uint8Array): string {
  const v: unknown = decodeValue(spec.type, bytes);
  if (code === 53) return `${v as number} ${(MESSAGE_TYPES as Record<number, string>)[v as number] ?? "unknown"}`;
  if (code === 93) return (v as number[]).map((a) => `${a} (${archName(a) ?? "unassigned"})`).join(", ");
  if (code === 77) return text(bytes);
  switch (spec.type) {
    case "ip":
      return formatIpv4(v as number);
    case "ips":
      return (v as number[]).map(formatIpv4).join(", ");
    case "ip-pairs":
      return (v as Array<[number, number]>).map(([a, b]) => `${formatIpv4(a)} ${formatIpv4(b)}`).join(", ");
    case "u8s":
    case "u16s":
      return (v as number[]).join(" ");
    case "string":
      return JSON.stringify(v);
    case "bytes":
      return text(bytes);
    case "sub-options":
    case "encapsulated":
      return (v as SubOption[]).map((s) => `${subOptionName(code, s.code)}=${text(s.data, "")}`).join(" ");
    case "domains":
      return (v as string[]).join(", ");
    case "routes":
      return (v as Array<{ destination: number; prefix: number; router: number }>)
        .map((r) => `${formatIpv4(r.destination)}/${r.prefix} via ${formatIpv4(r.router)}`)
        .join(", ");
    case "ndi": {
      const ndi = v as { type: number; major: number; minor: number };
      return `type ${ndi.type}${ndi.type === 1 ? " (UNDI)" : ""} version ${ndi.major}.${ndi.minor}`;
    }
    case "guid": {
      const guid = v as { type: number; guid: string };
      return `type ${guid.type} ${guid.guid}`;
    }
    default:
      return String(v);
  }
}

function subOptionName(option: number, code: number): string {
  const name = option === 82 ? (RELAY_AGENT_SUBOPTIONS as Record<number, string>)[code] : undefined;
  return name === undefined ? String(code) : `${code}:${name}`;
}

// Printable ASCII as a quoted string, anything else as hex bytes.
function text(bytes: Uint8Array, separator = " "): string {
  const printable = bytes.length > 0 && bytes.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? JSON.stringify(String.fromCharCode(...bytes)) : hex(bytes, separator);
}

function hex(bytes: Uint8Array, separator = " "): string {
  return bytes.length === 0 ? "(empty)" : Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(separator);
}

/** A readable rendering of a classification, one field per line ("-" for absent). */
export function renderClassification(c: DhcpClassification): string {
  const boot =
    c.boot.kind === "binary" ? `binary ${c.boot.file} over ${c.boot.transport} (${c.boot.reason})` : `${c.boot.kind} (${c.boot.reason})`;
  return [
    `message-type: ${c.messageType === undefined ? "-" : `${c.messageType} ${(MESSAGE_TYPES as Record<number, string>)[c.messageType] ?? "unknown"}`}`,
    `mac: ${c.mac}`,
    `vendor-class: ${c.vendorClass === undefined ? "-" : JSON.stringify(c.vendorClass)}`,
    `client: ${c.client ?? "-"}`,
    `user-class: ${c.userClass ?? "-"}`,
    `arch: ${c.arch === undefined ? "-" : `${c.arch} (${c.archName ?? "unassigned"})`}`,
    `ndi: ${c.ndi === undefined ? "-" : `type ${c.ndi.type} version ${c.ndi.major}.${c.ndi.minor}`}`,
    `guid: ${c.guid === undefined ? "-" : `type ${c.guid.type} ${c.guid.guid}`}`,
    `relayed: ${c.relayed}`,
    `boot: ${boot}`,
  ].join("\n");
}
