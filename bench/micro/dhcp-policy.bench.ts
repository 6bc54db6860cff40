// Micro-benchmark of the whole DHCP decision path against 10,000 hosts: decode the request,
// classify it, decide (lookup by MAC, boot choice, reply options), encode the reply into a
// preallocated (socket-owned) buffer. The lookup is a Map of hostsFromHardware output, exactly
// what the hardware index holds. Method: bench/support/micro.ts.
// Run: npx bun bench/micro/dhcp-policy.bench.ts
import { classifyDhcp } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, encodeDhcp, type DhcpPacket } from "../../daemon/dhcp/codec.ts";
import { hostsFromHardware } from "../../daemon/dhcp/host.ts";
import { DhcpDecoder } from "../../daemon/dhcp/decoder.ts";
import { decide } from "../../daemon/dhcp/policy.ts";
import type { DhcpHost, DhcpPolicyConfig, HardwareLookup, ReceiveContext } from "../../daemon/dhcp/types.ts";
import type { HardwareInterface } from "../../daemon/manifest/types.ts";
import { ipxeRequest, pxeRomDiscover } from "../../test/dhcp/hand-built.ts";
import { runMicro } from "../support/micro.ts";

const HOSTS = 10_000;

// 10,000 machines on 10.0.0.0/16; the hand-built packets' MAC (52:54:00:12:34:56) is one of them,
// reserved 10.0.0.23 as ipxeRequest asks.
function machine(i: number): HardwareInterface {
  const mac = i === 0 ? "52:54:00:12:34:56" : `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
  const address = i === 0 ? "10.0.0.23" : `10.0.${(i >> 8) + 1}.${i & 255}`;
  return {
    dhcp: {
      mac,
      hostname: `node-${i}`,
      domain_name: "lab.example.com",
      lease_time: 86400,
      name_servers: ["10.0.0.53", "1.1.1.1"],
      time_servers: ["10.0.0.123"],
      arch: "x86_64",
      uefi: true,
      ip: { address, netmask: "255.255.0.0", gateway: "10.0.0.254" },
    },
    netboot: { allowPXE: true, allowWorkflow: true },
  };
}
const macs = new Map<string, DhcpHost>();
for (let i = 0; i < HOSTS; i++) {
  for (const h of hostsFromHardware({ metadata: { name: `node-${i}`, namespace: "lab" }, spec: { interfaces: [machine(i)] } })) macs.set(h.mac, h);
}
const lookup: HardwareLookup = { byMac: (mac) => macs.get(mac), byIp: () => undefined };
const config: DhcpPolicyConfig = { mode: "reservation", publicIp: 0x0a000001, httpPort: 8080, wispUserClass: "Wisp", defaultLeaseTime: 86400 };
const ctx: ReceiveContext = { ifaceName: "eth0", serverIp: 0x0a000001, ifaceNetwork: { address: 0x0a000000, netmask: 0xffff0000 } };
const classifyConfig = { wispUserClass: config.wispUserClass };
const sendBuffer = new Uint8Array(1500);

function mustDecode(bytes: Uint8Array): DhcpPacket {
  const r = decodeDhcp(bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
const discover = mustDecode(pxeRomDiscover);
const discoverClass = classifyDhcp(discover, classifyConfig);
const request = mustDecode(ipxeRequest);
const requestClass = classifyDhcp(request, classifyConfig);
for (const [name, req, cls] of [["DISCOVER", discover, discoverClass], ["REQUEST", request, requestClass]] as const) {
  const d = decide(req, cls, ctx, lookup, config);
  if (d.kind !== "reply") throw new Error(`${name}: expected a reply, got ${d.reason}`);
}

const reused = new DhcpDecoder(); // the server's: one per socket, reused for every packet

function exchange(bytes: Uint8Array, decoder: { decode(b: Uint8Array): ReturnType<typeof decodeDhcp> } = { decode: decodeDhcp }): unknown {
  const r = decoder.decode(bytes);
  if (!r.ok) return r.error;
  const d = decide(r.value, classifyDhcp(r.value, classifyConfig), ctx, lookup, config);
  return d.kind === "reply" ? encodeDhcp(d.reply, sendBuffer, 0) : d.reason;
}

await runMicro(`DHCP policy, ${HOSTS} hosts`, {
  "decide PXE ROM DISCOVER -> OFFER": () => decide(discover, discoverClass, ctx, lookup, config),
  "decide iPXE REQUEST -> ACK": () => decide(request, requestClass, ctx, lookup, config),
  "PXE DISCOVER: decode+classify+decide+encode": () => exchange(pxeRomDiscover),
  "iPXE REQUEST: decode+classify+decide+encode": () => exchange(ipxeRequest),
  "PXE DISCOVER: the same, reused decoder (server)": () => exchange(pxeRomDiscover, reused),
  "iPXE REQUEST: the same, reused decoder (server)": () => exchange(ipxeRequest, reused),
});
