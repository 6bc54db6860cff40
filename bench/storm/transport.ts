/**
 * The real network under bench/storm/machine.ts: DHCP through the shared relay socket, TFTP with
 * the RFC 1350/2347 client of the tests bound to the machine's own address, HTTP with node:http
 * from the machine's own address (a new connection per file, as iPXE opens one), and the agent
 * protocol over its own gRPC channel with the proto in daemon/grpc/workflow.proto. Every call is
 * bounded in time; a timeout is an error the machine counts against its stage.
 */
import { status } from "@grpc/grpc-js";
import http from "node:http";
import { Backoff } from "../../agent/backoff.ts";
import { agentClient, statusFor, timestamp } from "../../test/grpc/agent-client.ts";
import { tftpGet } from "../../test/support/tftp-client.ts";
import type { HttpAnswer, MachineIo, MachineSpec } from "./machine.ts";
import type { Relay } from "./relay.ts";

/** How patient the simulated firmware and agent are. */
export interface TransportLimits {
  /** TFTP: silence before the last ACK (or the request) is sent again, and how many times. */
  tftpTimeoutMs: number;
  tftpRetries: number;
  /** TFTP block size asked for (PXE ROMs ask for about an Ethernet frame). */
  tftpBlksize: number;
  /** HTTP: silence on the connection before the request counts as failed. */
  httpIdleTimeoutMs: number;
  /** The agent stage gives up after this long in all. */
  agentDeadlineMs: number;
  /** gRPC address of the workflow service and the agents' token. */
  grpcAddress?: string;
  agentToken?: string;
}

/** One GET from `localAddress`; the body is counted (and kept as text only when asked for). */
export function httpGet(url: string, localAddress: string | undefined, wantText: boolean, idleTimeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, agent: false }, (res) => {
      let bytes = 0;
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => {
        bytes += c.length;
        if (wantText) parts.push(c);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, text: wantText ? Buffer.concat(parts).toString("utf8") : undefined }));
      res.on("error", reject);
    });
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no data for ${idleTimeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** Report refusals that no retry changes (as wisp-agent's loop: agent/loop.ts). */
const REFUSED = new Set<status>([status.FAILED_PRECONDITION, status.INVALID_ARGUMENT, status.NOT_FOUND]);

/**
 * The agent's loop, as wisp-agent runs it (agent/loop.ts): GetAction; report RUNNING then
 * SUCCESS, each sent again with back-off until acknowledged (a report that repeats what is
 * recorded is OK); back off 1 -> 5 s while there is no action. Bounded by the agent deadline.
 */
async function runAgent(m: MachineSpec, actions: number, limits: TransportLimits): Promise<{ succeeded: number; error?: string }> {
  if (!limits.grpcAddress) return { succeeded: 0, error: "no gRPC address" };
  const client = agentClient(limits.grpcAddress, { token: limits.agentToken });
  const deadline = performance.now() + limits.agentDeadlineMs;
  const late = () => performance.now() > deadline;
  const backoff = new Backoff();
  let succeeded = 0;
  let last = "";
  try {
    while (succeeded < actions) {
      if (late()) return { succeeded, error: `deadline (${limits.agentDeadlineMs} ms); last: ${last}` };
      const r = await client.getAction({ agentId: m.mac });
      if (r.code !== status.OK) {
        last = `GetAction ${status[r.code]}: ${r.details}`;
        await Bun.sleep(backoff.next());
        continue;
      }
      backoff.reset();
      const action = r.value!;
      const begun = new Date();
      for (const state of ["RUNNING", "SUCCESS"]) {
        const extra = state === "SUCCESS" ? { executionStart: timestamp(begun), executionStop: timestamp(new Date()), executionDuration: "0s", message: { message: "ok" } } : {};
        const retry = new Backoff();
        for (;;) {
          const rep = await client.reportActionStatus(statusFor(action, state, extra));
          if (rep.code === status.OK) break;
          last = `ReportActionStatus ${state} ${status[rep.code]}: ${rep.details}`;
          if (REFUSED.has(rep.code)) return { succeeded, error: last };
          if (late()) return { succeeded, error: `deadline (${limits.agentDeadlineMs} ms); last: ${last}` };
          await Bun.sleep(retry.next());
        }
      }
      succeeded++;
    }
    return { succeeded };
  } finally {
    client.close();
  }
}

/** The MachineIo of a real storm. */
export function realIo(relay: Relay, limits: TransportLimits, stormStart: () => number): MachineIo {
  return {
    dhcp: (m, as, offer, attempt, timeoutMs) => relay.exchange(m, as, offer, attempt, timeoutMs, Math.min(0xffff, Math.floor((performance.now() - stormStart()) / 1000))),
    async tftp(m, server, file) {
      const r = await tftpGet({ host: server, port: 69, bind: m.ip, filename: file, options: { tsize: 0, blksize: limits.tftpBlksize }, timeoutMs: limits.tftpTimeoutMs, retries: limits.tftpRetries, deadlineMs: (limits.tftpRetries + 1) * limits.tftpTimeoutMs * 20 });
      return { bytes: r.data.length, error: r.ok ? undefined : `${r.error?.message ?? "failed"} (code ${r.error?.code})` };
    },
    http: (m, url, wantText) => httpGet(url, m.ip, wantText, limits.httpIdleTimeoutMs),
    agent: (m, actions) => runAgent(m, actions, limits),
    sleep: (ms) => Bun.sleep(ms),
    now: () => performance.now(),
  };
}
