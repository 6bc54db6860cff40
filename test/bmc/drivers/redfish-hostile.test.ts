/**
 * A hostile Redfish service: mostly the mock-up with one property given a random value, sometimes
 * a random status, random headers and a random JSON shape built from the properties the driver
 * reads (wrong types, nulls, missing links, non-JSON).
 * The driver must never throw and must always return a BmcError with a known code and a message.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { redfishDriver } from "../../../daemon/bmc/redfish.ts";
import type { BmcDriver, BmcError } from "../../../daemon/bmc/types.ts";
import type { Result } from "../../../daemon/lib/result.ts";
import { FUZZ_SCALE, fuzzSeed, prng } from "../../support/fuzz.ts";
import { SETUP_TIMEOUT_MS } from "../../support/processes.ts";
import { makeCertificate } from "../../support/redfish-emulator.ts";

const PASSWORD = "Hostile-s3cret";
const CASES = 300 * FUZZ_SCALE;
const FIXTURES = join(import.meta.dir, "..", "..", "fixtures", "redfish", "v1");
const CODES = new Set(["unreachable", "timeout", "auth", "unsupported", "refused", "protocol"]);
const KEYS = ["Systems", "Links", "Sessions", "ManagedBy", "Members", "@odata.id", "Actions", "#ComputerSystem.Reset", "target",
  "ResetType@Redfish.AllowableValues", "Boot", "BootSourceOverrideTarget@Redfish.AllowableValues", "PowerState", "VirtualMedia",
  "MediaTypes", "Inserted", "#VirtualMedia.InsertMedia", "#VirtualMedia.EjectMedia", "error", "@Message.ExtendedInfo", "Message"];
const STATUSES = [200, 200, 200, 201, 204, 301, 400, 401, 404, 405, 409, 500, 503];

let server: ReturnType<typeof Bun.serve>;
let certDir = "";
const next = prng(fuzzSeed(0xb3c));
const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;

/** A random JSON value, deeper while `depth` lasts, favouring the driver's own property names and paths. */
function value(depth: number): unknown {
  switch (next() % (depth > 0 ? 9 : 6)) {
    case 0: return null;
    case 1: return next() % 1000;
    case 2: return pick(["/redfish/v1/Systems", "/redfish/v1/Systems/1", "On", "Off", "CD", "PoweringOn", "", "Pxe", "/x"]);
    case 3: return next() % 2 === 0;
    case 4: return { "@odata.id": pick(["/redfish/v1/Systems/1", "/redfish/v1/Managers/1", "/a", 7, null]) };
    case 5: return [];
    case 6: return Array.from({ length: next() % 3 }, () => value(depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = next() % 6; i > 0; i--) o[pick(KEYS)] = value(depth - 1);
      return o;
    }
  }
}

/** The mock-up document at a Redfish path, if there is one. */
function fixture(path: string): Record<string, unknown> | undefined {
  const rel = path.replace(/^\/redfish\/v1\/?/, "").replace(/\/+$/, "");
  try {
    return JSON.parse(readFileSync(join(FIXTURES, rel, "index.json"), "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A random answer: anything at all. */
function noise(): Response {
  const status = pick(STATUSES);
  const headers: Record<string, string> = {};
  if (next() % 2 === 0) headers["X-Auth-Token"] = "tok";
  if (next() % 3 === 0) headers.Location = pick(["/redfish/v1/SessionService/Sessions/1", "https://127.0.0.1:1/x", "::bad::"]);
  if (status === 204) return new Response(null, { status, headers });
  const body = next() % 10 === 0 ? "{not json" : JSON.stringify(value(4));
  return new Response(body, { status, headers: { ...headers, "Content-Type": "application/json" } });
}

/** Mostly a plausible answer (the mock-up, maybe with one property broken), sometimes noise, so every step of the driver meets bad input. */
function answer(req: Request): Response {
  const roll = next() % 10;
  if (roll >= 8) return noise();
  const path = new URL(req.url).pathname;
  if (req.method === "POST" && path.endsWith("/Sessions")) {
    return Response.json({ Id: "1" }, { status: 201, headers: { "X-Auth-Token": "tok", Location: `${path}/1` } });
  }
  if (req.method !== "GET") return new Response(null, { status: 204 });
  const doc = fixture(path);
  if (!doc) return Response.json({ error: { message: "no such resource" } }, { status: 404 });
  if (roll >= 5) doc[pick([...Object.keys(doc), ...KEYS])] = value(2);
  return Response.json(doc);
}

beforeAll(async () => {
  const certs = await makeCertificate();
  certDir = certs.dir;
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(certs.cert, "utf8"), key: readFileSync(certs.key, "utf8") },
    fetch: (req) => answer(req),
  });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await server?.stop(true);
  if (certDir) rmSync(certDir, { recursive: true, force: true });
}, SETUP_TIMEOUT_MS);

test(`${CASES} calls against random answers: always a Result, errors with a known code and no password`, async () => {
  const calls: ((d: BmcDriver) => Promise<Result<unknown, BmcError>>)[] = [
    (d) => d.powerState(),
    (d) => d.power(pick(["on", "off", "soft", "cycle", "reset"] as const)),
    (d) => d.setBootDevice(pick(["pxe", "disk", "bios", "cdrom"] as const), { efi: next() % 2 === 0, persistent: next() % 2 === 0 }),
    (d) => d.insertMedia("http://10.0.0.1/x.iso"),
    (d) => d.ejectMedia(),
  ];
  const codes = new Map<string, number>();
  for (let i = 0; i < CASES; i++) {
    // A fresh driver now and then, so discovery (not only the cached path) meets hostile answers.
    const drv = redfishDriver({
      host: "127.0.0.1", username: "admin", password: PASSWORD, timeoutMs: 5_000,
      options: { redfish: { port: server.port!, useBasicAuth: next() % 2 === 0 } },
    });
    for (let j = next() % 3; j >= 0; j--) {
      const r = await pick(calls)(drv);
      expect(typeof r.ok).toBe("boolean");
      if (!r.ok) {
        expect(CODES.has(r.error.code)).toBe(true);
        expect(r.error.message.length).toBeGreaterThan(0);
        expect(r.error.message).not.toContain(PASSWORD);
        codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
      } else codes.set("ok", (codes.get("ok") ?? 0) + 1);
    }
    await drv.close();
  }
  // The answers reached more than one branch: not a test that only ever saw one failure.
  expect(codes.size).toBeGreaterThan(3);
  expect(codes.get("ok") ?? 0).toBeGreaterThan(0);
}, 120_000);
