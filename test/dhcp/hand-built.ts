// Packets assembled byte by byte (not with encodeDhcp), so decoding is tested on its own.
// Each is also a fixture in test/fixtures/dhcp/<name>.txt; fixtures.test.ts checks they agree.

/** The fixed BOOTP header fields (RFC 2131 2); omitted fields are zero. */
export interface Header {
  op: number;
  htype?: number;
  hlen?: number;
  hops?: number;
  xid: number;
  secs?: number;
  flags?: number;
  ciaddr?: number[];
  yiaddr?: number[];
  siaddr?: number[];
  giaddr?: number[];
  chaddr: number[];
  /** Raw bytes of the 64-byte sname field (zero-filled). */
  sname?: number[];
  /** Raw bytes of the 128-byte file field (zero-filled). */
  file?: number[];
}

/** code, length, value. */
export const opt = (code: number, ...value: number[]): number[] => [code, value.length, ...value];
/** The bytes of ASCII text. */
export const str = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));
const u16 = (v: number): number[] => [v >> 8, v & 255];
const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const field = (bytes: number[] | undefined, size: number): number[] => {
  const out = new Array<number>(size).fill(0);
  (bytes ?? []).forEach((b, i) => (out[i] = b));
  return out;
};

/** Header, magic cookie, raw option bytes, then zero padding up to `total` bytes. */
export function assemble(h: Header, options: number[], total = 0): Uint8Array {
  const bytes = [
    h.op, h.htype ?? 1, h.hlen ?? 6, h.hops ?? 0, ...u32(h.xid), ...u16(h.secs ?? 0), ...u16(h.flags ?? 0),
    ...field(h.ciaddr, 4), ...field(h.yiaddr, 4), ...field(h.siaddr, 4), ...field(h.giaddr, 4),
    ...field(h.chaddr, 16), ...field(h.sname, 64), ...field(h.file, 128),
    99, 130, 83, 99, // magic cookie, RFC 2131 3
    ...options,
  ];
  while (bytes.length < total) bytes.push(0);
  return Uint8Array.from(bytes);
}

const MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const GUID = [0x4c, 0x4c, 0x45, 0x44, 0x00, 0x38, 0x58, 0x10, 0x80, 0x33, 0xb4, 0xc0, 0x4f, 0x31, 0x32, 0x4a];

/** A BIOS PXE ROM's DISCOVER: 93/94/97/60, padded to 548 bytes as PXE ROMs send it. */
export const pxeRomDiscover = assemble(
  { op: 1, xid: 0x2a3b4c5d, secs: 4, flags: 0x8000, chaddr: MAC },
  [
    ...opt(53, 1),
    ...opt(57, ...u16(1260)),
    ...opt(55, 1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 64, 65, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135),
    ...opt(97, 0, ...GUID),
    ...opt(94, 1, 2, 1),
    ...opt(93, ...u16(0)),
    ...opt(60, ...str("PXEClient:Arch:00000:UNDI:002001")),
    255,
  ],
  548,
);

/** iPXE (x64 UEFI) REQUEST: user class 77 "iPXE" (bare, not RFC 3004) and its option 175. */
export const ipxeRequest = assemble(
  { op: 1, xid: 0x1f2e3d4c, chaddr: MAC },
  [
    ...opt(53, 3),
    ...opt(57, ...u16(1472)),
    ...opt(93, ...u16(7)),
    ...opt(94, 1, 3, 10),
    ...opt(60, ...str("PXEClient:Arch:00007:UNDI:003010")),
    ...opt(77, ...str("iPXE")),
    ...opt(55, 1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203),
    // 175: http, https, tftp, dns, efi features; version 1.21.1; bus id PCI 8086:100e.
    ...opt(175, 0x13, 1, 1, 0x14, 1, 1, 0x15, 1, 1, 0x17, 1, 1, 0x24, 1, 1, 0xeb, 3, 1, 21, 1, 0xb1, 5, 1, 0x80, 0x86, 0x10, 0x0e),
    ...opt(61, 1, ...MAC),
    ...opt(97, 0, ...GUID),
    ...opt(50, 10, 0, 0, 23),
    ...opt(54, 10, 0, 0, 1),
    255,
  ],
);

/** A DISCOVER forwarded by a relay: giaddr, hops, and option 82 with circuit and remote id. */
export const relayedDiscover = assemble(
  { op: 1, hops: 1, xid: 0x0badcafe, giaddr: [10, 20, 0, 1], chaddr: [0x0c, 0xc4, 0x7a, 0x01, 0x02, 0x03] },
  [
    ...opt(53, 1),
    ...opt(61, 1, 0x0c, 0xc4, 0x7a, 0x01, 0x02, 0x03),
    ...opt(12, ...str("node-07")),
    ...opt(55, 1, 3, 6, 15, 28, 42, 119, 121),
    ...opt(82, ...opt(1, ...str("ge-0/0/7.0")), ...opt(2, 0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc)),
    255,
  ],
  300,
);

/**
 * An OFFER whose options overflow into file and sname (option 52 = 3). Option 119 is split
 * across the options and file fields (RFC 3396), its compression pointer spanning the seam.
 */
export const overloadedOffer = assemble(
  {
    op: 2, xid: 0x5eed0001, yiaddr: [10, 0, 0, 23], siaddr: [10, 0, 0, 1], chaddr: MAC,
    sname: [...opt(15, ...str("example.com")), ...opt(42, 10, 0, 0, 1, 10, 0, 0, 2), 255],
    file: [...opt(119, 3, ...str("lab"), 0xc0, 0x00), ...opt(67, ...str("undionly.kpxe")), 255],
  },
  [
    ...opt(53, 2),
    ...opt(54, 10, 0, 0, 1),
    ...opt(52, 3),
    ...opt(51, ...u32(3600)),
    ...opt(1, 255, 255, 255, 0),
    ...opt(3, 10, 0, 0, 254),
    ...opt(119, 7, ...str("example"), 3, ...str("com"), 0),
    255,
  ],
  300,
);

/** Every hand-built packet by fixture name. */
export const HAND_BUILT: Record<string, Uint8Array> = {
  "pxe-rom-discover": pxeRomDiscover,
  "ipxe-request": ipxeRequest,
  "relayed-discover": relayedDiscover,
  "overloaded-offer": overloadedOffer,
};
