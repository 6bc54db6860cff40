/** wrk as the HTTP load generator: one thread on the client CPU, its report parsed. */
import { spawnSync } from "node:child_process";
import { CLIENT_CPU, pinned } from "./pinning.ts";

/** What one wrk run reports. */
export interface WrkResult {
  requestsPerSecond: number;
  /** Body and header bytes read per second ("Transfer/sec"). */
  bytesPerSecond: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  requests: number;
  non2xx: number;
  errors: string | undefined;
}

const toMs = (value: string, unit: string): number => Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit]!;
const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** Parses wrk's report (with --latency). */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`wrk output without Requests/sec:\n${out}`);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
    return m ? toMs(m[1]!, m[2]!) : undefined;
  };
  const transfer = /Transfer\/sec:\s+([\d.]+)([KMGT]?B)/.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const errors = /Socket errors:.*$/m.exec(out)?.[0];
  return {
    requestsPerSecond: Number(rps[1]),
    bytesPerSecond: transfer ? Number(transfer[1]) * BYTE_UNITS[transfer[2]!]! : 0,
    latencyP50Ms: pct("50"),
    latencyP99Ms: pct("99"),
    requests: Number(requests?.[1] ?? 0),
    non2xx: Number(non2xx?.[1] ?? 0),
    errors,
  };
}

/** Runs wrk (1 thread, keep-alive) on the client CPU; throws when it fails or sees a non-2xx. */
export function runWrk(url: string, seconds: number, connections: number): WrkResult {
  const [cmd, ...args] = pinned(CLIENT_CPU, ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", url]);
  const r = spawnSync(cmd!, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wrk ${url}: ${r.stderr || r.stdout}`);
  const result = parseWrk(r.stdout);
  if (result.non2xx > 0) throw new Error(`wrk ${url}: ${result.non2xx} responses were not 2xx`);
  return result;
}
