/**
 * wispd with its syslog receiver on a free port, a Hardware whose interface address is
 * 127.0.0.1 applied with the wisp CLI, util-linux `logger` (Debian: bsdutils) sending RFC 5424
 * and RFC 3164, iPXE's form and garbage sent by hand, and `wisp logs hardware` reading them back.
 */
import type { udp } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SyslogLine } from "../../daemon/syslog/line.ts";
import { pgliteDataDir } from "../support/pglite.ts";
import { runWisp, startWispd, type WispdHandle } from "../support/processes.ts";

const ROOT = join(import.meta.dir, "..", "..");
const MACHINE_IP = "127.0.0.1";
const STRANGER_IP = "127.0.0.2";
/** Bound on waiting for a line to arrive, an index to load or a follower to print. */
const WAIT_MS = 15_000;

const HARDWARE = `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: {name: m1, namespace: default}
spec:
  interfaces:
  - dhcp: {mac: "52:54:00:5e:00:01", ip: {address: ${MACHINE_IP}, netmask: 255.0.0.0}}
`;

let wispd: WispdHandle;
let env: Record<string, string>;
let token: string;
let port: number;
let removeData: () => void = () => {};
const senders = new Map<string, udp.Socket<"buffer">>();

/** Polls `check` until it returns something other than undefined. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

async function freeUdpPort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const p = s.port;
  s.close();
  return p;
}

/** Sends one datagram from `from` (any 127/8 address is ours on Linux). */
async function sendFrom(from: string, payload: string | Uint8Array): Promise<void> {
  let s = senders.get(from);
  if (!s) senders.set(from, (s = await Bun.udpSocket({ hostname: from, port: 0 })));
  s.send(payload, port, "127.0.0.1");
}

async function logger(args: string[]): Promise<void> {
  const p = Bun.spawn(["logger", "-n", "127.0.0.1", "-P", String(port), "-d", ...args], { stderr: "pipe" });
  const code = await p.exited;
  if (code !== 0) throw new Error(`logger ${args.join(" ")}: exit ${code}: ${await new Response(p.stderr).text()}`);
}

async function api(path: string): Promise<Response> {
  return fetch(wispd.url + path, { headers: { authorization: `Bearer ${token}` } });
}

const jsonLines = (text: string): SyslogLine[] => text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as SyslogLine);

async function metric(name: string, labels = ""): Promise<number | undefined> {
  const text = await (await fetch(`${wispd.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

/** `wisp logs hardware m1 ...` once. */
async function logs(...args: string[]) {
  return runWisp(["logs", "hardware", "m1", ...args], env);
}

/** Waits until `wisp logs hardware m1` prints a line containing `text`; returns all its output. */
const untilShown = (text: string) =>
  waitFor(`"${text}" in wisp logs`, async () => {
    const r = await logs();
    return r.stdout.includes(text) ? r.stdout : undefined;
  });

beforeAll(async () => {
  const data = await pgliteDataDir();
  removeData = data.remove;
  port = await freeUdpPort();
  wispd = await startWispd(["--data-dir", data.dataDir, "--syslog-port", String(port)]);
  env = { WISP_SERVER: wispd.url, WISP_DATA_DIR: data.dataDir };
  token = readFileSync(join(data.dataDir, "api-token"), "utf8").trim();
  await waitFor("syslog listening", () => wispd.logs.find((l) => l.msg === "syslog listening"));
  const applied = await runWisp(["apply", "-f", "-"], env, HARDWARE);
  expect(applied.stderr).toBe("");
  expect(applied.stdout).toContain("hardware/m1 created");
  // The index learns of the Hardware by notification: wait for it before sending as the machine.
  await waitFor("the hardware index", async () => ((await metric("wisp_hardware_index_entries")) === 1 ? true : undefined));
}, 60_000);

afterAll(async () => {
  for (const s of senders.values()) s.close();
  if (wispd) expect(await wispd.stop()).toBe(0);
  removeData();
});

describe("syslog end to end", () => {
  test("logger (RFC 5424 and 3164) and iPXE's form from the Hardware's address show under it", async () => {
    await logger(["--rfc5424", "-t", "app5424", "-p", "local3.err", "--sd-id", "zoo@123", "--sd-param", 'tiger="hungry"', "hello from rfc5424"]);
    await logger(["--rfc3164", "-i", "-t", "app3164", "-p", "user.warning", "hello from rfc3164"]);
    await sendFrom(MACHINE_IP, "<6>ipxe: Waiting for link-up on net0... ok");
    await sendFrom(MACHINE_IP, "<13>app: \x1b[31mred\x1b[0m");
    const out = await untilShown("red");
    const stamp = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`;
    expect(out).toMatch(new RegExp(`^${stamp} \\S+ app5424: ERR hello from rfc5424$`, "m"));
    expect(out).toMatch(new RegExp(`^${stamp} \\S+ app3164\\[\\d+\\]: WARNING hello from rfc3164$`, "m"));
    // iPXE sends no hostname: the line shows the source address.
    expect(out).toMatch(new RegExp(`^${stamp} 127\\.0\\.0\\.1 ipxe: INFO Waiting for link-up on net0\\.\\.\\. ok$`, "m"));
    // A machine's escape sequences are shown, not sent to the terminal.
    expect(out).toContain(String.raw`app: NOTICE \x1b[31mred\x1b[0m`);

    const json = jsonLines((await logs("-o", "json")).stdout);
    const l5424 = json.find((l) => l.app === "app5424")!;
    expect(l5424).toMatchObject({ format: "rfc5424", facility: "local3", severity: "err", peer: MACHINE_IP, message: "hello from rfc5424" });
    expect(l5424.structuredData).toContainEqual({ id: "zoo@123", params: [{ name: "tiger", value: "hungry" }] });
    expect(json.find((l) => l.app === "app3164")).toMatchObject({ format: "rfc3164", facility: "user", severity: "warning" });
  });

  test("a message from an address of no Hardware is not shown under it, but under unknown sources", async () => {
    await sendFrom(STRANGER_IP, "<13>Jan  1 00:00:00 stranger app: not yours");
    const unknown = await waitFor("the stranger's line", async () => {
      const lines = jsonLines(await (await api("/api/v1/syslog/unknown")).text());
      return lines.find((l) => l.message === "not yours");
    });
    expect(unknown).toMatchObject({ peer: STRANGER_IP, hostname: "stranger", app: "app" });
    const only = jsonLines(await (await api(`/api/v1/syslog/unknown?address=${STRANGER_IP}`)).text());
    expect(only.map((l) => l.message)).toEqual(["not yours"]);
    // Sent after the stranger's line: once it shows, the stranger's would have too.
    await sendFrom(MACHINE_IP, "<13>app: after the stranger");
    const out = await untilShown("after the stranger");
    expect(out).not.toContain("not yours");
    expect(await metric("wisp_syslog_unattributed_total")).toBeGreaterThanOrEqual(1);
  });

  test("malformed datagrams are counted and kept raw; the receiver keeps working", async () => {
    const before = (await metric("wisp_syslog_messages_total", '{result="malformed"}'))!;
    await sendFrom(MACHINE_IP, "no priority at all");
    await sendFrom(MACHINE_IP, "<999>priority too big");
    await sendFrom(MACHINE_IP, '<13>1 2024-01-01T00:00:00Z h app - - [unterminated x="y"');
    await logger(["--rfc5424", "-t", "after", "still receiving"]);
    const out = await untilShown("still receiving");
    expect(out).toMatch(/ 127\.0\.0\.1 -: MALFORMED no priority at all$/m);
    expect(out).toMatch(/ 127\.0\.0\.1 -: MALFORMED <999>priority too big$/m);
    expect(await metric("wisp_syslog_messages_total", '{result="malformed"}')).toBe(before + 3);
    const raw = jsonLines((await logs("-o", "json")).stdout).find((l) => l.message.startsWith("<13>1 2024"));
    expect(raw).toMatchObject({ format: "malformed", error: expect.stringMatching(/^byte \d+: structured-data: truncated/) });
  });

  test("--since shows only later lines", async () => {
    const all = jsonLines((await logs("-o", "json")).stdout);
    expect(all.length).toBeGreaterThan(3);
    const r = await logs("--since", String(all[1]!.seq), "-o", "json");
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toEqual(all.slice(2));
    expect((await logs("--since", String(all.at(-1)!.seq))).stdout).toBe("");
  });

  test("--follow prints new lines as they come and exits 0 on Ctrl-C", async () => {
    const proc = Bun.spawn(["node", join(ROOT, "bin", "wisp"), "logs", "hardware", "m1", "--follow"], { env: { ...process.env, WISP_TOKEN: "", ...env }, stdout: "pipe", stderr: "pipe" });
    let out = "";
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    try {
      await waitFor("the lines kept so far", () => (out.includes("hello from rfc5424") ? true : undefined));
      expect(out).not.toContain("a followed line");
      await logger(["--rfc3164", "-t", "follow", "a followed line"]);
      await waitFor("the followed line", () => (out.includes("follow: NOTICE a followed line") ? true : undefined));
      expect(out.split("\n").filter((l) => l.includes("hello from rfc5424"))).toHaveLength(1);
      proc.kill("SIGINT");
      expect(await proc.exited).toBe(0);
    } finally {
      proc.kill();
    }
  });

  test("logs of a Hardware that does not exist: one line on stderr, exit 1", async () => {
    const r = await runWisp(["logs", "hardware", "nope"], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("wisp: Hardware default/nope not found");
    const bad = await runWisp(["logs", "hardware", "m1", "--since", "-1"], env);
    expect(bad.code).toBe(1);
  });
});
