/**
 * The REST API for the BMC kinds, in process on both stores: Secrets are write-only (created,
 * replaced and listed without their values, bad ones refused naming the key), Machines carry
 * their status, Jobs are refused for a Machine that does not exist and cannot change.
 */
import { expect, test } from "bun:test";
import { createApi } from "../../daemon/api/server.ts";
import { createLogger } from "../../daemon/lib/log.ts";
import { testCore } from "../support/core.ts";
import { forEachStore } from "../support/stores.ts";

const TOKEN = "api-t0ken";
const PASSWORD = "api-test-Pa55word";

forEachStore("bmc API", (s) => {
  function api() {
    const app = createApi({ core: testCore(s.store, { now: () => new Date(), advance: () => new Date() }), token: TOKEN, logger: createLogger("fatal"), version: "test" });
    return async (method: string, path: string, body?: unknown) => {
      const res = await app.handle(
        new Request(`http://wisp${path}`, {
          method,
          headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        }),
      );
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
    };
  }

  test("a Secret goes in; only its keys come out", async () => {
    const call = api();
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "creds" }, stringData: { username: "admin", password: PASSWORD } };
    const created = await call("POST", "/api/v1/namespaces/default/secrets", secret);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ apiVersion: "v1", kind: "Secret", keys: ["password", "username"] });
    const replaced = await call("PUT", "/api/v1/namespaces/default/secrets/creds", { ...secret, stringData: { username: "admin", password: `${PASSWORD}-2` } });
    expect(replaced.status).toBe(200);
    const reads = [replaced, await call("GET", "/api/v1/namespaces/default/secrets/creds"), await call("GET", "/api/v1/secrets"), await call("GET", "/api/v1/namespaces/default/secrets")];
    for (const r of reads) expect(r.text).not.toContain(PASSWORD);

    const bad = await call("POST", "/api/v1/namespaces/default/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "bad" }, data: { password: PASSWORD } });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: "invalid_manifest", field: "data.password" });
    expect(bad.text).not.toContain(PASSWORD);
    expect((await call("GET", "/api/v1/namespaces/default/secrets/bad")).status).toBe(404);
  });

  test("Machines with their status; Jobs need their Machine and cannot change", async () => {
    const call = api();
    const machine = {
      apiVersion: "bmc.tinkerbell.org/v1alpha1",
      kind: "Machine",
      metadata: { name: "m1" },
      spec: { connection: { host: "10.0.0.9", authSecretRef: { name: "creds" } } },
    };
    const created = await call("POST", "/api/v1/namespaces/default/machines", machine);
    expect(created.status).toBe(201);
    expect(created.json.status).toEqual({ powerState: "unknown", conditions: [] });
    const job = { apiVersion: "bmc.tinkerbell.org/v1alpha1", kind: "Job", metadata: { name: "j1" }, spec: { machineRef: { name: "m2" }, tasks: [{ powerAction: "on" }] } };
    const orphan = await call("POST", "/api/v1/namespaces/default/jobs", job);
    expect(orphan.status).toBe(404);
    expect(orphan.json.message).toBe('Job default/j1: spec.machineRef.name: Machine "m2" not found in namespace default');
    const ok = await call("POST", "/api/v1/namespaces/default/jobs", { ...job, spec: { ...job.spec, machineRef: { name: "m1" } } });
    expect(ok.status).toBe(201);
    expect(ok.json.status).toMatchObject({ state: "Pending", steps: [{ index: 0, action: "power on", state: "Pending", attempt: 0, retries: 2, timeout: 60 }] });
    const changed = await call("PUT", "/api/v1/namespaces/default/jobs/j1", { ...job, spec: { machineRef: { name: "m1" }, tasks: [{ powerAction: "off" }] } });
    expect(changed.status).toBe(409);
    expect(changed.json.message).toContain("a Job's spec cannot change once it is stored");
    expect((await call("DELETE", "/api/v1/namespaces/default/jobs/j1")).status).toBe(200);
    const task = await call("POST", "/api/v1/namespaces/default/jobs", { apiVersion: "bmc.tinkerbell.org/v1alpha1", kind: "Task", metadata: { name: "t" }, spec: {} });
    expect(task.status).toBe(400);
  });
});
