// Micro-benchmark of the whole DHCP decision path against 10,000 hosts: decode the request,
// classify it, decide (lookup by MAC, boot choice, reply options), encode the reply into a
// preallocated (socket-owned) buffer. The lookup is a Map of hostsFromHardware output, exactly
// what the hardware index holds. Prints ns/op (tinybench; BATCH ops per sample) and bytes
// allocated per op, measured as bench/dhcp-codec.bench.ts does (JSC heap capacity growth over
// LONG ops minus that over SHORT ops, after a collect-and-sweep; calibration line included).
// Run: npx bun bench/dhcp-policy.bench.ts
import { gcAndSweep, heapStats } from "bun:jsc";
import { Bench } from "tinybench";
import { classifyDhcp } from "../daemon/dhcp/classify.ts";
import { decodeDhcp, encodeDhcp, type DhcpPacket } from "../daemon/dhcp/codec.ts";
import { hostsFromHardware } from "../daemon/dhcp/host.ts";
import { decide } from "../daemon/dhcp/policy.ts";
import type { DhcpHost, DhcpPolicyConfig, HardwareLookup, ReceiveContext } from "../daemon/dhcp/types.ts";
import type { HardwareInterface } from "../daemon/manifest/types.ts";
import { ipxeRequest, pxeRomDiscover } from "../test/dhcp/hand-built.ts";

const BATCH = 100;
const SHORT = 500;
const LONG = 1_500;
const RUNS = 7;
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

let sink: unknown;
function exchange(bytes: Uint8Array): void {
  const r = decodeDhcp(bytes);
  if (!r.ok) return;
  const d = decide(r.value, classifyDhcp(r.value, classifyConfig), ctx, lookup, config);
  sink = d.kind === "reply" ? encodeDhcp(d.reply, sendBuffer, 0) : d.reason;
}

const ops: Record<string, () => void> = {
  "calibration: a 3-field object (48 B)": () => void (sink = { a: 1, b: 2, c: 3 }),
  "decide PXE ROM DISCOVER -> OFFER": () => void (sink = decide(discover, discoverClass, ctx, lookup, config)),
  "decide iPXE REQUEST -> ACK": () => void (sink = decide(request, requestClass, ctx, lookup, config)),
  "PXE DISCOVER: decode+classify+decide+encode": () => exchange(pxeRomDiscover),
  "iPXE REQUEST: decode+classify+decide+encode": () => exchange(ipxeRequest),
};

function heapGrowth(op: () => void, n: number): number {
  gcAndSweep();
  const before = heapStats().heapCapacity;
  for (let i = 0; i < n; i++) op();
  return heapStats().heapCapacity - before;
}

function bytesPerOp(op: () => void): number {
  for (let i = 0; i < 3_000; i++) op();
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run++) runs.push((heapGrowth(op, LONG) - heapGrowth(op, SHORT)) / (LONG - SHORT));
  return runs.sort((a, b) => a - b)[RUNS >> 1]!;
}

// Allocation first, while the heap is small (see bench/dhcp-codec.bench.ts).
const allocated = new Map(Object.entries(ops).map(([name, op]) => [name, bytesPerOp(op)]));

const bench = new Bench({ time: 1000, warmupTime: 200 });
for (const [name, op] of Object.entries(ops)) {
  bench.add(name, () => {
    for (let i = 0; i < BATCH; i++) op();
  });
}
await bench.run();

console.log(`bun ${Bun.version}, ${HOSTS} hosts, ${BATCH} ops per sample`);
for (const task of bench.tasks) {
  const result = task.result;
  if (result.state !== "completed") {
    console.log(`${task.name}: ${result.state}`);
    continue;
  }
  const ns = (ms: number) => ((ms * 1e6) / BATCH).toFixed(0).padStart(6);
  const bytes = allocated.get(task.name)!.toFixed(0).padStart(5);
  console.log(`${task.name.padEnd(46)} mean ${ns(result.latency.mean)} ns/op  p50 ${ns(result.latency.p50)} ns/op  ${bytes} B/op`);
}
void sink;
