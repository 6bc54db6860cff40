// Micro-benchmark of the DHCP hot path: decode a request, classify it, encode a reply into a
// preallocated (socket-owned) buffer. Prints ns/op (tinybench; each sample runs BATCH ops so
// timer overhead does not dominate) and bytes allocated per op, from JSC heap capacity
// (heapStats) after a collect-and-sweep: the growth over SHORT ops is subtracted from the
// growth over LONG ops, which cancels the freed cells a run reuses first; both runs stay below
// the eden size, so no collection runs inside them. The calibration line (a 48-byte object)
// shows the method reads true. Run: npx bun bench/dhcp-codec.bench.ts
import { gcAndSweep, heapStats } from "bun:jsc";
import { Bench } from "tinybench";
import { classifyDhcp } from "../daemon/dhcp/classify.ts";
import { decodeDhcp, dhcpLength, dhcpPacket, encodeDhcp, type DhcpPacket } from "../daemon/dhcp/codec.ts";
import { setOption } from "../daemon/dhcp/options.ts";
import { ipxeRequest, pxeRomDiscover } from "../test/dhcp/hand-built.ts";

const BATCH = 100;
const SHORT = 500;
const LONG = 1_500;
const RUNS = 7;

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

let sink: unknown;
const ops: Record<string, () => void> = {
  "calibration: a 3-field object (48 B)": () => void (sink = { a: 1, b: 2, c: 3 }),
  "decode PXE ROM DISCOVER (548 B)": () => void (sink = decodeDhcp(pxeRomDiscover)),
  "decode iPXE REQUEST": () => void (sink = decodeDhcp(ipxeRequest)),
  "classify PXE ROM DISCOVER": () => void (sink = classifyDhcp(discover)),
  "classify iPXE REQUEST": () => void (sink = classifyDhcp(request)),
  "encode OFFER into a preallocated buffer": () => void (sink = encodeDhcp(offer, sendBuffer, 0)),
  "dhcpLength OFFER": () => void (sink = dhcpLength(offer)),
  "decode + classify + encode (one exchange)": () => {
    const r = decodeDhcp(pxeRomDiscover);
    if (r.ok) sink = classifyDhcp(r.value);
    sink = encodeDhcp(offer, sendBuffer, 0);
  },
};

function heapGrowth(op: () => void, ops: number): number {
  gcAndSweep();
  const before = heapStats().heapCapacity;
  for (let i = 0; i < ops; i++) op();
  return heapStats().heapCapacity - before;
}

function bytesPerOp(op: () => void): number {
  for (let i = 0; i < 3_000; i++) op();
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run++) runs.push((heapGrowth(op, LONG) - heapGrowth(op, SHORT)) / (LONG - SHORT));
  return runs.sort((a, b) => a - b)[RUNS >> 1]!;
}

// Allocation first, while the heap is small: a heap grown by the timing runs keeps more free
// cells after a sweep than even the LONG run uses, and the difference would read zero.
const allocated = new Map(Object.entries(ops).map(([name, op]) => [name, bytesPerOp(op)]));

const bench = new Bench({ time: 1000, warmupTime: 200 });
for (const [name, op] of Object.entries(ops)) {
  bench.add(name, () => {
    for (let i = 0; i < BATCH; i++) op();
  });
}
await bench.run();

console.log(`bun ${Bun.version}, ${BATCH} ops per sample`);
for (const task of bench.tasks) {
  const result = task.result;
  if (result.state !== "completed") {
    console.log(`${task.name}: ${result.state}`);
    continue;
  }
  const ns = (ms: number) => ((ms * 1e6) / BATCH).toFixed(0).padStart(6);
  const bytes = allocated.get(task.name)!.toFixed(0).padStart(5);
  console.log(`${task.name.padEnd(44)} mean ${ns(result.latency.mean)} ns/op  p50 ${ns(result.latency.p50)} ns/op  ${bytes} B/op`);
}
void sink;
