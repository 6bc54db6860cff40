// Micro-benchmark of the DHCP hot path: decode a request, classify it, encode a reply into a
// preallocated (socket-owned) buffer. Method: bench/support/micro.ts. Run: npx bun bench/micro/dhcp-codec.bench.ts
import { classifyDhcp } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, dhcpLength, dhcpPacket, encodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { DhcpDecoder } from "../../daemon/dhcp/decoder.ts";
import { setOption } from "../../daemon/dhcp/options.ts";
import { ipxeRequest, pxeRomDiscover } from "../../test/dhcp/hand-built.ts";
import { runMicro } from "../support/micro.ts";

function mustDecode(bytes: Uint8Array): DhcpPacket {
  const r = decodeDhcp(bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const discover = mustDecode(pxeRomDiscover);
const request = mustDecode(ipxeRequest);

// A proxy-style OFFER as the server would send to the PXE ROM.
const offer = dhcpPacket({ op: 2, xid: discover.xid, flags: discover.flags, siaddr: 0x0a000001, chaddr: discover.chaddr });
offer.file = new TextEncoder().encode("undionly.kpxe");
setOption(offer, 53, 2);
setOption(offer, 54, 0x0a000001);
setOption(offer, 51, 86400);
setOption(offer, 1, 0xffffff00);
setOption(offer, 3, [0x0a0000fe]);
setOption(offer, 6, [0x0a000001, 0x0a000002]);
setOption(offer, 15, "lab.example.com");
offer.options.set(43, Uint8Array.of(6, 1, 8, 255)); // PXE discovery control: boot file given, no menu
setOption(offer, 60, "PXEClient");
offer.options.set(97, discover.options.get(97)!);
const sendBuffer = new Uint8Array(1500);
const reused = new DhcpDecoder(); // the server's: one per socket, options read where they lie

await runMicro("DHCP codec", {
  "decode PXE ROM DISCOVER (548 B)": () => decodeDhcp(pxeRomDiscover),
  "decode iPXE REQUEST": () => decodeDhcp(ipxeRequest),
  "decode PXE ROM DISCOVER, reused decoder": () => reused.decode(pxeRomDiscover),
  "decode iPXE REQUEST, reused decoder": () => reused.decode(ipxeRequest),
  "classify PXE ROM DISCOVER": () => classifyDhcp(discover),
  "classify iPXE REQUEST": () => classifyDhcp(request),
  "encode OFFER into a preallocated buffer": () => encodeDhcp(offer, sendBuffer, 0),
  "dhcpLength OFFER": () => dhcpLength(offer),
  "decode + classify + encode (one exchange)": () => {
    const r = decodeDhcp(pxeRomDiscover);
    const cls = r.ok ? classifyDhcp(r.value) : undefined;
    return [cls, encodeDhcp(offer, sendBuffer, 0)];
  },
  "the same exchange, reused decoder": () => {
    const r = reused.decode(pxeRomDiscover);
    const cls = r.ok ? classifyDhcp(r.value) : undefined;
    return [cls, encodeDhcp(offer, sendBuffer, 0)];
  },
});

