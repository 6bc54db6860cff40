/**
 * One simulated machine's boot, as a state machine over injected I/O (so it is unit-tested with
 * fakes and run for real by bench/storm/client.ts): DHCP as a PXE ROM (DISCOVER, REQUEST, with
 * the firmware's back-off), TFTP of the iPXE binary it was offered, DHCP again as iPXE, the
 * iPXE script, kernel and initrd over HTTP (each tried 1 + 5 times, 2 s apart, as Wisp's script
 * does), a metadata request, then the agent protocol until its workflow's actions all succeed.
 * A stage that runs out of retries fails the machine, naming the stage and why.
 */

/** The stages in boot order. */
export const STAGES = ["dhcp-pxe", "tftp", "dhcp-ipxe", "script", "kernel", "initrd", "metadata", "agent"] as const;
export type Stage = (typeof STAGES)[number];

/** The stages a static baseline (dnsmasq + nginx) can serve: no metadata, no workflow. */
export const STATIC_STAGES: readonly Stage[] = ["dhcp-pxe", "tftp", "dhcp-ipxe", "script", "kernel", "initrd"];

/**
 * Seconds a PXE ROM waits for each DISCOVER (and REQUEST) before sending it again: 4, 8, 16, 32
 * (PXE 2.1 specification, 2.2.1; Intel's and most vendors' ROMs), then it gives up.
 */
export const PXE_BACKOFF_MS = [4_000, 8_000, 16_000, 32_000];
/** iPXE's DHCP: starts at 1 s and doubles (DHCP_DISC_START_TIMEOUT_SEC 1, END 10 in iPXE's config/dhcp.h). */
export const IPXE_BACKOFF_MS = [1_000, 2_000, 4_000, 8_000];
/** Wisp's script tries kernel, initrd (and chain) 1 + 5 times, 2 s apart (SCRIPT_RETRIES). */
export const HTTP_TRIES = 6;
export const HTTP_RETRY_DELAY_MS = 2_000;

/** Who the machine is: the reservation the server was given. */
export interface MachineSpec {
  index: number;
  name: string;
  mac: string;
  ip: string;
}

/** What a DHCP reply told the machine (addresses dotted, file as text). */
export interface DhcpAnswer {
  messageType: number;
  yiaddr: string;
  serverId?: string;
  siaddr: string;
  file: string;
}

/** One HTTP answer: status, body bytes received, and the body text when asked for. */
export interface HttpAnswer {
  status: number;
  bytes: number;
  text?: string;
}

/** The machine's view of the network; every call is bounded in time by the caller's transport. */
export interface MachineIo {
  /** Sends one DHCP message (DISCOVER, or REQUEST for `offer`) and waits up to `timeoutMs` for its answer. */
  dhcp(m: MachineSpec, as: "pxe" | "ipxe", offer: DhcpAnswer | undefined, attempt: number, timeoutMs: number): Promise<DhcpAnswer | undefined>;
  /** Reads a file over TFTP from `server`, bound to the machine's address; resolves to the bytes or why not. */
  tftp(m: MachineSpec, server: string, file: string): Promise<{ bytes: number; error?: string }>;
  /** One HTTP GET from the machine's address; throws on a network error or timeout. */
  http(m: MachineSpec, url: string, wantText: boolean): Promise<HttpAnswer>;
  /** Runs the agent protocol until `actions` actions succeeded; resolves to how many did, and why it stopped short. */
  agent(m: MachineSpec, actions: number): Promise<{ succeeded: number; error?: string }>;
  /** Waits (a fake clock in tests). */
  sleep(ms: number): Promise<void>;
  now(): number;
}

/** What the storm asks of every machine. */
export interface BootPlan {
  stages: readonly Stage[];
  pxeBackoffMs: readonly number[];
  ipxeBackoffMs: readonly number[];
  httpTries: number;
  httpRetryDelayMs: number;
  /** Expected sizes; a transfer of another size fails its stage. */
  ipxeBytes?: number;
  kernelBytes?: number;
  initrdBytes?: number;
  actions: number;
}

/** How one machine's boot went: times are ms from the storm's start. */
export interface MachineRecord {
  index: number;
  ok: boolean;
  startMs: number;
  endMs: number;
  /** Duration of each stage reached (ms); a failed stage has its time until it gave up. */
  stageMs: Partial<Record<Stage, number>>;
  failedStage?: Stage;
  error?: string;
  /** DHCP messages sent again after a timeout, and HTTP requests tried again. */
  retransmits: number;
  /** Body bytes received over TFTP and HTTP. */
  bytes: number;
}

/** A stage's failure, carrying the reason into the record. */
class StageError extends Error {}

/** Tries `attempt` once per timeout in `scheduleMs` until it yields a value; undefined after the last. */
export async function withBackoff<T>(scheduleMs: readonly number[], attempt: (timeoutMs: number, n: number) => Promise<T | undefined>): Promise<{ value?: T; attempts: number }> {
  for (let n = 0; n < scheduleMs.length; n++) {
    const value = await attempt(scheduleMs[n]!, n);
    if (value !== undefined) return { value, attempts: n + 1 };
  }
  return { attempts: scheduleMs.length };
}

/**
 * The kernel and initrd URLs of an iPXE script, as iPXE would fetch them: the first `kernel` and
 * `initrd` commands, with the `${name}` settings that `set` lines before them gave expanded
 * (Wisp's script names `${base-url}/vmlinuz-${arch}`).
 */
export function scriptUrls(script: string): { kernel?: string; initrd?: string } {
  const vars = new Map<string, string>();
  const expand = (s: string) => s.replace(/\$\{([^}]+)\}/g, (_, k: string) => vars.get(k) ?? "");
  const found: { kernel?: string; initrd?: string } = {};
  for (const raw of script.split("\n")) {
    const line = raw.trim();
    const set = /^set\s+([^\s:]+)(?::\S+)?\s+(.*)$/.exec(line);
    if (set) vars.set(set[1]!, expand(set[2]!).trim());
    const cmd = /^(kernel|initrd)\s+(?:--\S+\s+)*(\S+)/.exec(line);
    if (cmd) found[cmd[1] as "kernel" | "initrd"] ??= expand(cmd[2]!);
  }
  return found;
}

const DHCPOFFER = 2;
const DHCPACK = 5;

/** Boots one machine through `plan.stages`; never throws (a failure is in the record). */
export async function bootMachine(m: MachineSpec, io: MachineIo, plan: BootPlan, stormStart: number): Promise<MachineRecord> {
  const rec: MachineRecord = { index: m.index, ok: false, startMs: io.now() - stormStart, endMs: 0, stageMs: {}, retransmits: 0, bytes: 0 };
  const want = new Set(plan.stages);
  let stage: Stage = plan.stages[0] ?? "dhcp-pxe";
  const timed = async <T>(s: Stage, run: () => Promise<T>): Promise<T> => {
    stage = s;
    const t0 = io.now();
    try {
      return await run();
    } finally {
      rec.stageMs[s] = io.now() - t0;
    }
  };
  const dora = async (as: "pxe" | "ipxe"): Promise<DhcpAnswer> => {
    const schedule = as === "pxe" ? plan.pxeBackoffMs : plan.ipxeBackoffMs;
    const offer = await withBackoff(schedule, (t, n) => io.dhcp(m, as, undefined, n, t).then((a) => (a?.messageType === DHCPOFFER ? a : undefined)));
    rec.retransmits += offer.attempts - 1;
    if (!offer.value) throw new StageError(`no DHCPOFFER after ${offer.attempts} DISCOVERs`);
    const ack = await withBackoff(schedule, (t, n) => io.dhcp(m, as, offer.value, n, t).then((a) => (a?.messageType === DHCPACK ? a : undefined)));
    rec.retransmits += ack.attempts - 1;
    if (!ack.value) throw new StageError(`no DHCPACK after ${ack.attempts} REQUESTs`);
    if (ack.value.yiaddr !== m.ip) throw new StageError(`DHCPACK gave ${ack.value.yiaddr}, reserved ${m.ip}`);
    if (!ack.value.file) throw new StageError("DHCPACK names no boot file");
    return ack.value;
  };
  const get = async (url: string, wantText: boolean, expectBytes?: number): Promise<HttpAnswer> => {
    let last = "";
    for (let n = 0; n < plan.httpTries; n++) {
      if (n > 0) {
        rec.retransmits++;
        await io.sleep(plan.httpRetryDelayMs);
      }
      try {
        const a = await io.http(m, url, wantText);
        rec.bytes += a.bytes;
        if (a.status !== 200) last = `HTTP ${a.status}`;
        else if (expectBytes !== undefined && a.bytes !== expectBytes) last = `${a.bytes} bytes, expected ${expectBytes}`;
        else return a;
      } catch (e) {
        last = (e as Error).message;
      }
    }
    throw new StageError(`GET ${url}: ${last} (${plan.httpTries} tries)`);
  };

  try {
    let scriptUrl = "";
    let kernel: string | undefined;
    let initrd: string | undefined;
    if (want.has("dhcp-pxe")) {
      const ack = await timed("dhcp-pxe", () => dora("pxe"));
      if (want.has("tftp")) {
        await timed("tftp", async () => {
          const r = await io.tftp(m, ack.siaddr, ack.file);
          rec.bytes += r.bytes;
          if (r.error) throw new StageError(`TFTP ${ack.file} from ${ack.siaddr}: ${r.error}`);
          if (plan.ipxeBytes !== undefined && r.bytes !== plan.ipxeBytes) throw new StageError(`TFTP ${ack.file}: ${r.bytes} bytes, expected ${plan.ipxeBytes}`);
        });
      }
    }
    if (want.has("dhcp-ipxe")) {
      const ack = await timed("dhcp-ipxe", () => dora("ipxe"));
      if (!/^https?:\/\//.test(ack.file)) throw new StageError(`iPXE was offered "${ack.file}", not a script URL`);
      scriptUrl = ack.file;
    }
    if (want.has("script")) {
      const script = await timed("script", () => get(scriptUrl, true));
      ({ kernel, initrd } = scriptUrls(script.text ?? ""));
      if (!kernel || !initrd) throw new StageError(`the script at ${scriptUrl} has no kernel or initrd URL`);
    }
    if (want.has("kernel")) await timed("kernel", () => get(kernel!, false, plan.kernelBytes));
    if (want.has("initrd")) await timed("initrd", () => get(initrd!, false, plan.initrdBytes));
    if (want.has("metadata")) {
      await timed("metadata", async () => {
        const a = await get(`${new URL(scriptUrl).origin}/2009-04-04/meta-data/hostname`, true);
        if (a.text !== m.name) throw new StageError(`metadata hostname "${a.text}", expected "${m.name}"`);
      });
    }
    if (want.has("agent")) {
      await timed("agent", async () => {
        const r = await io.agent(m, plan.actions);
        if (r.succeeded < plan.actions) throw new StageError(`${r.succeeded} of ${plan.actions} actions succeeded: ${r.error ?? "?"}`);
      });
    }
    rec.ok = true;
  } catch (e) {
    rec.failedStage = stage;
    rec.error = e instanceof StageError ? e.message : `unexpected: ${(e as Error).stack ?? e}`;
  }
  rec.endMs = io.now() - stormStart;
  return rec;
}
