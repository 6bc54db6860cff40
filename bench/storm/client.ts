/**
 * The storm's load generator: one process, one event loop, every machine a coroutine over
 * non-blocking sockets (one shared relay socket for DHCP, a UDP socket per TFTP transfer, a TCP
 * connection per HTTP file, a gRPC channel per agent). Run by bench/storm/run.ts inside the
 * generator's network namespace, pinned to the client CPU:
 *
 *   bun bench/storm/client.ts CONFIG.json
 *
 * It applies the Hardware, Template and Workflows first when the config has `apply` (timed
 * apart from the storm), prints `storm start` and `storm end` lines (the caller samples the
 * server's CPU between them), progress on stderr, and one JSON line with every machine's record.
 */
import { readFileSync } from "node:fs";
import { bootMachine, type BootPlan, type MachineRecord, type MachineSpec } from "./machine.ts";
import { Relay } from "./relay.ts";
import { realIo, httpGet, type TransportLimits } from "./transport.ts";

/** Everything the generator is told. */
export interface ClientConfig {
  machines: MachineSpec[];
  plan: BootPlan;
  limits: TransportLimits;
  relayIp: string;
  serverIp: string;
  /** Start offsets: every machine at 0 (burst) or spread evenly over this many ms. */
  spreadMs: number;
  /** Documents to apply before the storm, and where. */
  apply?: { url: string; token: string; documents: object[]; batch: number; readyPath: string };
  progressEveryMs: number;
}

/** What the generator prints last. */
export interface ClientResult {
  applySeconds?: number;
  records: MachineRecord[];
  dhcp: { sent: number; answered: number; stray: number };
  wallSeconds: number;
}

/** Start offset (ms) of machine `i` of `n` for a spread over `spreadMs` (0: all at once). */
export function arrivalMs(i: number, n: number, spreadMs: number): number {
  return spreadMs <= 0 || n <= 1 ? 0 : (i * spreadMs) / n;
}

async function applyDocuments(a: NonNullable<ClientConfig["apply"]>): Promise<void> {
  for (let i = 0; i < a.documents.length; i += a.batch) {
    const part = a.documents.slice(i, i + a.batch);
    const r = await fetch(`${a.url}/api/v1/apply`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.token}`, "content-type": "application/json" },
      body: JSON.stringify({ sources: part.map((d, k) => ({ name: `storm-${i + k}.json`, text: JSON.stringify(d) })) }),
    });
    if (r.status !== 200) throw new Error(`apply documents ${i}-${i + part.length - 1}: HTTP ${r.status}: ${(await r.text()).slice(0, 500)}`);
  }
  const deadline = performance.now() + 120_000;
  for (;;) {
    const ok = await httpGet(`${a.url}${a.readyPath}`, undefined, false, 10_000).then((x) => x.status === 200, () => false);
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`${a.readyPath} did not answer 200 within 120 s of the apply`);
    await Bun.sleep(100);
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as ClientConfig;
  const result: ClientResult = { records: [], dhcp: { sent: 0, answered: 0, stray: 0 }, wallSeconds: 0 };
  if (config.apply) {
    const t0 = performance.now();
    await applyDocuments(config.apply);
    result.applySeconds = (performance.now() - t0) / 1000;
    console.error(`storm: applied ${config.apply.documents.length} documents in ${result.applySeconds.toFixed(1)} s`);
  }
  const relay = await Relay.open(config.relayIp, config.serverIp);
  let start = 0;
  const io = realIo(relay, config.limits, () => start);
  const n = config.machines.length;
  let done = 0;
  let failed = 0;
  console.log("storm start");
  start = performance.now();
  const progress = setInterval(() => {
    console.error(`storm: ${((performance.now() - start) / 1000).toFixed(0)} s: ${done} of ${n} done, ${failed} failed; DHCP sent ${relay.sent}, answered ${relay.answered}`);
  }, config.progressEveryMs);
  result.records = await Promise.all(
    config.machines.map(async (m, i) => {
      const at = arrivalMs(i, n, config.spreadMs);
      if (at > 0) await Bun.sleep(at);
      const rec = await bootMachine(m, io, config.plan, start);
      done++;
      if (!rec.ok) failed++;
      return rec;
    }),
  );
  result.wallSeconds = (performance.now() - start) / 1000;
  clearInterval(progress);
  console.log("storm end");
  result.dhcp = { sent: relay.sent, answered: relay.answered, stray: relay.stray };
  relay.close();
  console.log(JSON.stringify(result));
  process.exit(0);
}

if (import.meta.main) await main();
