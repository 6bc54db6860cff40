/**
 * wispd under test: started from bin/wispd on the server CPU with its own data directory and
 * every port it does not need on a free or disabled one; documents applied through the API.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pinned, SERVER_CPU } from "./pinning.ts";
import { waitLog, waitUntil, type ProcessSet } from "./processes.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** A running wispd. */
export interface Wispd {
  url: string;
  token: string;
  /** The process started (the bin/wispd wrapper; Bun runs as its child). */
  pid: number;
}

/**
 * Starts wispd on 127.0.0.1 (HTTP on a free port, gRPC on a free port, syslog and TFTP off unless
 * `extraArgs` say otherwise) and waits until HTTP listens and, when given, `readyLog` was logged.
 */
export async function startWispd(procs: ProcessSet, dataDir: string, extraArgs: string[] = [], readyLog?: string): Promise<Wispd> {
  const argv = ["node", join(ROOT, "bin", "wispd"), "--data-dir", dataDir, "--listen-address", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--tftp-port", "0", "--syslog-port", "0", "--log-level", "info", ...extraArgs];
  const [cmd, ...args] = pinned(SERVER_CPU, argv);
  const proc = procs.add(spawn(cmd!, args, { stdio: ["ignore", "pipe", "inherit"] }));
  const ready = readyLog === undefined ? undefined : waitLog(proc, readyLog, 60_000);
  const port = (await waitLog(proc, "http listening", 60_000)).port as number;
  await ready;
  // Later log lines are not read; drain them so a full pipe never stalls wispd.
  proc.stdout!.resume();
  return { url: `http://127.0.0.1:${port}`, token: readFileSync(join(dataDir, "api-token"), "utf8").trim(), pid: proc.pid! };
}

/** Applies documents (JSON objects) through the API, then waits until `readyPath` answers 200. */
export async function applyAndWait(wispd: Wispd, documents: object[], readyPath: string): Promise<void> {
  const applied = await fetch(`${wispd.url}/api/v1/apply`, {
    method: "POST",
    headers: { authorization: `Bearer ${wispd.token}`, "content-type": "application/json" },
    body: JSON.stringify({ sources: documents.map((d, i) => ({ name: `bench-${i}.json`, text: JSON.stringify(d) })) }),
  });
  if (applied.status !== 200) throw new Error(`apply: HTTP ${applied.status}: ${await applied.text()}`);
  // The index follows the store's notifications: wait until the machine is known.
  await waitUntil(`${readyPath} did not answer 200`, async () => (await fetch(`${wispd.url}${readyPath}`)).status === 200);
}

/** GET a URL; throws unless 200. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}: ${await r.text()}`);
  return new Uint8Array(await r.arrayBuffer());
}
