import { err, ok, type Result } from "../lib/result.ts";
import { checkLength, checkValue, decodeValue, encodeValue } from "./option-values.ts";

/** How an option's bytes are laid out; each maps to a value type in `OptionValues`. */
export type OptionType =
  | "framing" // pad and end: a code byte with no length
  | "ip" // one IPv4 address, held as uint32
  | "ips" // a list of IPv4 addresses
  | "ip-pairs" // (address, mask) or (destination, router) pairs
  | "u8"
  | "u16"
  | "u32"
  | "i32"
  | "bool" // one byte, 0 or 1
  | "u8s" // a list of bytes (e.g. option codes)
  | "u16s"
  | "string" // text, UTF-8
  | "bytes" // opaque
  | "sub-options" // code, length, data triples, as option 82 (RFC 3046 2.0)
  | "encapsulated" // an options block with pad and end, as RFC 2132 8.4 allows for 43
  | "domains" // RFC 1035 names with compression (RFC 3397)
  | "routes" // RFC 3442 classless static routes
  | "ndi" // RFC 4578 2.2 network interface identifier
  | "guid"; // RFC 4578 2.3 client machine identifier

/** One entry of the option table. */
export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
}

/** A sub-option of an option that carries others (82, 43, 175). */
export interface SubOption {
  code: number;
  data: Uint8Array;
}

/** One RFC 3442 classless static route; addresses as uint32. */
export interface ClasslessRoute {
  destination: number;
  prefix: number;
  router: number;
}

/** RFC 4578 2.2 client network interface identifier (type 1 = UNDI). */
export interface ClientNdi {
  type: number;
  major: number;
  minor: number;
}

/** RFC 4578 2.3 client machine identifier: type (0) and 16 bytes as lower-case 8-4-4-4-12 hex, wire order. */
export interface ClientGuid {
  type: number;
  guid: string;
}

/** The value type of each `OptionType`. */
export interface OptionValues {
  framing: undefined;
  ip: number;
  ips: number[];
  "ip-pairs": Array<[number, number]>;
  u8: number;
  u16: number;
  u32: number;
  i32: number;
  bool: boolean;
  u8s: number[];
  u16s: number[];
  string: string;
  bytes: Uint8Array;
  "sub-options": SubOption[];
  encapsulated: SubOption[];
  domains: string[];
  routes: ClasslessRoute[];
  ndi: ClientNdi;
  guid: ClientGuid;
}

/** DHCP options by code: RFC 2132 and the extensions PXE, iPXE and relays use. */
export const OPTIONS = {
  0: { name: "pad", type: "framing" }, // RFC 2132 3.1
  1: { name: "subnet-mask", type: "ip" }, // RFC 2132 3.3
  2: { name: "time-offset", type: "i32" }, // RFC 2132 3.4
  3: { name: "router", type: "ips" }, // RFC 2132 3.5
  4: { name: "time-server", type: "ips" }, // RFC 2132 3.6
  5: { name: "name-server", type: "ips" }, // RFC 2132 3.7
  6: { name: "domain-name-server", type: "ips" }, // RFC 2132 3.8
  7: { name: "log-server", type: "ips" }, // RFC 2132 3.9
  8: { name: "cookie-server", type: "ips" }, // RFC 2132 3.10
  9: { name: "lpr-server", type: "ips" }, // RFC 2132 3.11
  10: { name: "impress-server", type: "ips" }, // RFC 2132 3.12
  11: { name: "resource-location-server", type: "ips" }, // RFC 2132 3.13
  12: { name: "host-name", type: "string" }, // RFC 2132 3.14
  13: { name: "boot-file-size", type: "u16" }, // RFC 2132 3.15
  14: { name: "merit-dump-file", type: "string" }, // RFC 2132 3.16
  15: { name: "domain-name", type: "string" }, // RFC 2132 3.17
  16: { name: "swap-server", type: "ip" }, // RFC 2132 3.18
  17: { name: "root-path", type: "string" }, // RFC 2132 3.19
  18: { name: "extensions-path", type: "string" }, // RFC 2132 3.20
  19: { name: "ip-forwarding", type: "bool" }, // RFC 2132 4.1
  20: { name: "non-local-source-routing", type: "bool" }, // RFC 2132 4.2
  21: { name: "policy-filter", type: "ip-pairs" }, // RFC 2132 4.3
  22: { name: "max-datagram-reassembly-size", type: "u16" }, // RFC 2132 4.4
  23: { name: "default-ip-ttl", type: "u8" }, // RFC 2132 4.5
  24: { name: "path-mtu-aging-timeout", type: "u32" }, // RFC 2132 4.6
  25: { name: "path-mtu-plateau-table", type: "u16s" }, // RFC 2132 4.7
  26: { name: "interface-mtu", type: "u16" }, // RFC 2132 5.1
  27: { name: "all-subnets-local", type: "bool" }, // RFC 2132 5.2
  28: { name: "broadcast-address", type: "ip" }, // RFC 2132 5.3
  29: { name: "perform-mask-discovery", type: "bool" }, // RFC 2132 5.4
  30: { name: "mask-supplier", type: "bool" }, // RFC 2132 5.5
  31: { name: "perform-router-discovery", type: "bool" }, // RFC 2132 5.6
  32: { name: "router-solicitation-address", type: "ip" }, // RFC 2132 5.7
  33: { name: "static-route", type: "ip-pairs" }, // RFC 2132 5.8
  34: { name: "trailer-encapsulation", type: "bool" }, // RFC 2132 6.1
  35: { name: "arp-cache-timeout", type: "u32" }, // RFC 2132 6.2
  36: { name: "ethernet-encapsulation", type: "bool" }, // RFC 2132 6.3
  37: { name: "tcp-default-ttl", type: "u8" }, // RFC 2132 7.1
  38: { name: "tcp-keepalive-interval", type: "u32" }, // RFC 2132 7.2
  39: { name: "tcp-keepalive-garbage", type: "bool" }, // RFC 2132 7.3
  40: { name: "nis-domain", type: "string" }, // RFC 2132 8.1
  41: { name: "nis-servers", type: "ips" }, // RFC 2132 8.2
  42: { name: "ntp-servers", type: "ips" }, // RFC 2132 8.3
  43: { name: "vendor-specific", type: "bytes" }, // RFC 2132 8.4 (opaque; PXE puts sub-options here)
  44: { name: "netbios-name-servers", type: "ips" }, // RFC 2132 8.5
  45: { name: "netbios-datagram-distribution", type: "ips" }, // RFC 2132 8.6
  46: { name: "netbios-node-type", type: "u8" }, // RFC 2132 8.7
  47: { name: "netbios-scope", type: "string" }, // RFC 2132 8.8
  48: { name: "x-font-servers", type: "ips" }, // RFC 2132 8.9
  49: { name: "x-display-managers", type: "ips" }, // RFC 2132 8.10
  50: { name: "requested-ip-address", type: "ip" }, // RFC 2132 9.1
  51: { name: "lease-time", type: "u32" }, // RFC 2132 9.2
  52: { name: "overload", type: "u8" }, // RFC 2132 9.3
  53: { name: "message-type", type: "u8" }, // RFC 2132 9.6
  54: { name: "server-identifier", type: "ip" }, // RFC 2132 9.7
  55: { name: "parameter-request-list", type: "u8s" }, // RFC 2132 9.8
  56: { name: "message", type: "string" }, // RFC 2132 9.9
  57: { name: "max-message-size", type: "u16" }, // RFC 2132 9.10
  58: { name: "renewal-time", type: "u32" }, // RFC 2132 9.11
  59: { name: "rebinding-time", type: "u32" }, // RFC 2132 9.12
  60: { name: "vendor-class-identifier", type: "string" }, // RFC 2132 9.13
  61: { name: "client-identifier", type: "bytes" }, // RFC 2132 9.14
  64: { name: "nisplus-domain", type: "string" }, // RFC 2132 8.11
  65: { name: "nisplus-servers", type: "ips" }, // RFC 2132 8.12
  66: { name: "tftp-server-name", type: "string" }, // RFC 2132 9.4
  67: { name: "bootfile-name", type: "string" }, // RFC 2132 9.5
  68: { name: "mobile-ip-home-agent", type: "ips" }, // RFC 2132 8.13
  69: { name: "smtp-servers", type: "ips" }, // RFC 2132 8.14
  70: { name: "pop3-servers", type: "ips" }, // RFC 2132 8.15
  71: { name: "nntp-servers", type: "ips" }, // RFC 2132 8.16
  72: { name: "www-servers", type: "ips" }, // RFC 2132 8.17
  73: { name: "finger-servers", type: "ips" }, // RFC 2132 8.18
  74: { name: "irc-servers", type: "ips" }, // RFC 2132 8.19
  75: { name: "streettalk-servers", type: "ips" }, // RFC 2132 8.20
  76: { name: "stda-servers", type: "ips" }, // RFC 2132 8.21
  // Raw text, not the RFC 3004 4 length-prefixed list: stock iPXE sends a bare "iPXE" (see userClasses).
  77: { name: "user-class", type: "string" }, // RFC 3004 4
  82: { name: "relay-agent-information", type: "sub-options" }, // RFC 3046 2.0
  93: { name: "client-system-architecture", type: "u16s" }, // RFC 4578 2.1
  94: { name: "client-network-interface", type: "ndi" }, // RFC 4578 2.2
  97: { name: "client-machine-identifier", type: "guid" }, // RFC 4578 2.3
  118: { name: "subnet-selection", type: "ip" }, // RFC 3011 3
  119: { name: "domain-search", type: "domains" }, // RFC 3397 2
  121: { name: "classless-static-route", type: "routes" }, // RFC 3442 (option format)
  // Etherboot/iPXE encapsulated options (IANA "tentatively assigned"); iPXE lists its features here.
  175: { name: "ipxe-encapsulated", type: "encapsulated" },
  255: { name: "end", type: "framing" }, // RFC 2132 3.2
} as const satisfies Record<number, OptionSpec>;

/** A code present in the option table. */
export type OptionCode = keyof typeof OPTIONS;

/** The decoded value of option `C`: typed by the table, raw bytes for codes not in it, unknown for a computed code. */
export type OptionValue<C extends number> = number extends C
  ? unknown
  : C extends OptionCode
    ? OptionValues[(typeof OPTIONS)[C]["type"]]
    : Uint8Array;

/**
 * Options of a packet by code, as raw bytes (views into the received buffer where possible),
 * iterated in the order they first appear. A Map (replies, decodeDhcp) or a DhcpDecoder's
 * ReceivedOptions (the server's requests, read where they lie in the received bytes).
 */
export interface DhcpOptions extends Iterable<[number, Uint8Array]> {
  readonly size: number;
  get(code: number): Uint8Array | undefined;
  has(code: number): boolean;
  set(code: number, value: Uint8Array): unknown;
  delete(code: number): boolean;
  forEach(callback: (value: Uint8Array, code: number, options: DhcpOptions) => void, thisArg?: unknown): void;
  keys(): Iterable<number>;
  values(): Iterable<Uint8Array>;
  entries(): Iterable<[number, Uint8Array]>;
}

/** DHCP message types, option 53 (RFC 2132 9.6; 9 RFC 3203; 10-13 RFC 4388; 14-15 RFC 6926; 16-18 RFC 7724). */
export const MESSAGE_TYPES = {
  1: "DISCOVER",
  2: "OFFER",
  3: "REQUEST",
  4: "DECLINE",
  5: "ACK",
  6: "NAK",
  7: "RELEASE",
  8: "INFORM",
  9: "FORCERENEW",
  10: "LEASEQUERY",
  11: "LEASEUNASSIGNED",
  12: "LEASEUNKNOWN",
  13: "LEASEACTIVE",
  14: "BULKLEASEQUERY",
  15: "LEASEQUERYDONE",
  16: "ACTIVELEASEQUERY",
  17: "LEASEQUERYSTATUS",
  18: "TLS",
} as const satisfies Record<number, string>;

/** Option 82 sub-options (RFC 3046 2.0 and the RFCs cited). */
export const RELAY_AGENT_SUBOPTIONS = {
  1: "circuit-id", // RFC 3046 2.1
  2: "remote-id", // RFC 3046 2.2
  4: "docsis-device-class", // RFC 3256
  5: "link-selection", // RFC 3527
  6: "subscriber-id", // RFC 3993
  7: "radius-attributes", // RFC 4014
  8: "authentication", // RFC 4030
  9: "vendor-specific", // RFC 4243
  10: "relay-agent-flags", // RFC 5010
  11: "server-identifier-override", // RFC 5107
  12: "relay-id", // RFC 6925
  151: "virtual-subnet-selection", // RFC 6607
  152: "virtual-subnet-selection-control", // RFC 6607
} as const satisfies Record<number, string>;

/** The table entry for `code`, or undefined for codes the table does not know. */
export function optionSpec(code: number): OptionSpec | undefined {
  return (OPTIONS as Record<number, OptionSpec>)[code];
}

/** Why `bytes` are not a valid value for option `code` ("length 2, expected 1"), or undefined. */
export function checkOption(code: number, bytes: Uint8Array): string | undefined {
  const spec = optionSpec(code);
  return spec === undefined ? undefined : checkValue(spec.type, bytes);
}

/** checkOption for the `length` bytes of `buf` at `start`, making a view only when the check reads them. */
export function checkOptionAt(code: number, buf: Uint8Array, start: number, length: number): string | undefined {
  const spec = optionSpec(code);
  if (spec === undefined) return undefined;
  const verdict = checkLength(spec.type, length);
  return verdict !== null ? verdict : checkValue(spec.type, buf.subarray(start, start + length));
}

/** Decodes option `code` of a packet on demand; undefined when absent or not valid for its type. */
export function getOption<C extends number>(packet: { options: DhcpOptions }, code: C): OptionValue<C> | undefined {
  const bytes = packet.options.get(code);
  if (bytes === undefined) return undefined;
  const spec = optionSpec(code);
  if (spec === undefined) return bytes as OptionValue<C>;
  return decodeValue(spec.type, bytes) as OptionValue<C> | undefined;
}

/** Encodes `value` as option `code`'s bytes, by the table (raw bytes for unknown codes). */
export function encodeOption<C extends number>(code: C, value: OptionValue<C>): Result<Uint8Array> {
  if (!Number.isInteger(code) || code < 1 || code > 254) return err(`option ${code}: code must be 1-254`);
  const spec = optionSpec(code);
  if (spec === undefined) return value instanceof Uint8Array ? ok(value) : err(`option ${code}: raw bytes expected`);
  // The table ties `value`'s type to spec.type; TypeScript cannot follow a lookup by a generic key.
  const bytes = encodeValue(spec.type, value as OptionValues[OptionType]);
  return bytes.ok ? bytes : err(`option ${code} (${spec.name}): ${bytes.error}`);
}

/** Encodes `value` and stores it as option `code` of `packet`, replacing any earlier value. */
export function setOption<C extends number>(packet: { options: DhcpOptions }, code: C, value: OptionValue<C>): Result<Uint8Array> {
  const bytes = encodeOption(code, value);
  if (bytes.ok) packet.options.set(code, bytes.value);
  return bytes;
}
