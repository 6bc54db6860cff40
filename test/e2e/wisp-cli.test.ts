/**
 * wispd as a process and the wisp CLI as a user runs them, on both stores: apply the shared
 * examples (broken as written, then fixed), read them back, and feed bad input. curl checks auth.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pgliteDataDir } from "../support/pglite.ts";
import { freshDatabase } from "../support/postgres.ts";
import { EXAMPLES_DIR, runWisp, SETUP_TIMEOUT_MS, startWispd, type WispdHandle } from "../support/processes.ts";

const NUC_MAC = "1c:69:7a:11:22:33";

/** A copy of the examples, optionally with the Workflow's hardwareRef fixed. */
function examples(fixed: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "wisp-examples-"));
  cpSync(EXAMPLES_DIR, dir, { recursive: true });
  if (fixed) {
    const wf = join(dir, "workflow.yaml");
    writeFileSync(wf, readFileSync(wf, "utf8").replace("hardwareRef: hp-demo", "hardwareRef: nuc-demo"));
  }
  return dir;
}

async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const p = Bun.spawn(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", ...args], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const nl = out.lastIndexOf("\n");
  return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
}

for (const driver of ["pglite", "postgres"] as const) {
  describe(`wisp CLI against wispd [${driver}]`, () => {
    let wispd: WispdHandle;
    let env: Record<string, string>;
    const cleanups: (() => unknown)[] = [];

    beforeAll(async () => {
      let args: string[];
      let dataDir: string;
      if (driver === "pglite") {
        const d = await pgliteDataDir();
        cleanups.push(d.remove);
        dataDir = d.dataDir;
        args = ["--data-dir", dataDir];
      } else {
        const db = await freshDatabase();
        cleanups.push(db.drop);
        dataDir = mkdtempSync(join(tmpdir(), "wisp-data-"));
        cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
        args = ["--data-dir", dataDir, "--database-url", db.url];
      }
      wispd = await startWispd(args);
      // The CLI finds the token in the data directory, as on the provisioner host.
      env = { WISP_SERVER: wispd.url, WISP_DATA_DIR: dataDir };
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      if (wispd) expect(await wispd.stop()).toBe(0);
      for (const c of cleanups.reverse()) await c();
    });

    test("health endpoints need no token; the API refuses a missing or wrong one", async () => {
      expect((await curl([`${wispd.url}/healthz`])).status).toBe(200);
      const ready = await curl([`${wispd.url}/readyz`]);
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.body).checks.store).toBe("ok");
      const none = await curl([`${wispd.url}/api/v1/hardware`]);
      expect(none.status).toBe(401);
      expect(JSON.parse(none.body).code).toBe("unauthorized");
      const wrong = await curl(["-H", "Authorization: Bearer nope", `${wispd.url}/api/v1/hardware`]);
      expect(wrong.status).toBe(401);
      const token = readFileSync(join(env.WISP_DATA_DIR!, "api-token"), "utf8").trim();
      const good = await curl(["-H", `Authorization: Bearer ${token}`, `${wispd.url}/api/v1/hardware`]);
      expect(good.status).toBe(200);
      expect(JSON.parse(good.body)).toEqual([]);
      expect(wispd.logs.some((l) => l.msg === "api token generated")).toBe(true);
    });

    test("the examples as written fail, naming hp-demo, and store nothing", async () => {
      const r = await runWisp(["apply", "-f", examples(false)], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/workflow\.yaml#0 Workflow tink-system\/demo-wf: spec\.hardwareRef: Hardware "hp-demo" not found/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      for (const kind of ["hw", "tpl", "wf"]) {
        const g = await runWisp(["get", kind, "-A", "-o", "json"], env);
        expect(g.code).toBe(0);
        expect(JSON.parse(g.stdout)).toEqual([]);
      }
    });

    test("with hardwareRef nuc-demo all three are stored and the workflow is PENDING with 7 actions", async () => {
      const dir = examples(true);
      const r = await runWisp(["apply", "-f", dir], env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("hardware/nuc-demo created");
      expect(r.stdout).toContain("template/ubuntu-focal-nvme created");
      expect(r.stdout).toContain("workflow/demo-wf created");

      const table = await runWisp(["get", "wf", "-n", "tink-system"], env);
      expect(table.stdout).toMatch(/demo-wf\s+ubuntu-focal-nvme\s+nuc-demo\s+PENDING\s+0\/7\s+stream-ubuntu-image/);

      const wf = JSON.parse((await runWisp(["get", "workflow", "demo-wf", "-n", "tink-system", "-o", "json"], env)).stdout);
      expect(wf.status.state).toBe("PENDING");
      expect(wf.status.totalActions).toBe(7);
      expect(wf.status.tasks).toHaveLength(1);
      expect(wf.status.tasks[0].worker).toBe(NUC_MAC);
      expect(wf.status.tasks[0].actions.map((a: { name: string }) => a.name)).toEqual([
        "stream-ubuntu-image", "grow-partition", "install-openssl", "create-user", "enable-ssh", "disable-apparmor", "write-netplan",
      ]);

      const again = await runWisp(["apply", "-f", dir], env);
      expect(again.stdout).toContain("workflow/demo-wf unchanged");
      expect(again.stdout).toContain("hardware/nuc-demo unchanged");

      const hw = await runWisp(["get", "hw", "-A"], env);
      expect(hw.stdout).toMatch(/tink-system\s+nuc-demo\s+1c:69:7a:11:22:33\s+192\.168\.1\.8\s+nuc-demo\s+true/);
    });

    test("describe shows the actions and the event history", async () => {
      const d = await runWisp(["describe", "wf", "demo-wf", "-n", "tink-system"], env);
      expect(d.code).toBe(0);
      expect(d.stdout).toContain("State:       PENDING");
      expect(d.stdout).toContain("write-netplan");
      expect(d.stdout).toMatch(/Events:\n\s+TIME/);
      const y = await runWisp(["get", "hw", "nuc-demo", "-n", "tink-system", "-o", "yaml"], env);
      expect(y.stdout).toContain("mac: 1c:69:7a:11:22:33");
      expect(y.stdout).toContain("apiVersion: tinkerbell.org/v1alpha1");
    });

    test("bad input gives one line naming the file, document and field, and changes nothing", async () => {
      const dir = mkdtempSync(join(tmpdir(), "wisp-bad-"));
      const cases: [string, string, RegExp][] = [
        ["broken.yaml", "kind: Hardware\nmetadata: {name: x\n", /broken\.yaml#0.*(line|:\d+)/],
        ["kind.yaml", "apiVersion: tinkerbell.org/v1alpha1\nkind: Machine2\nmetadata: {name: x}\n", /Machine2/],
        ["type.yaml", "apiVersion: tinkerbell.org/v1alpha1\nkind: Hardware\nmetadata: {name: m1}\nspec:\n  interfaces:\n  - dhcp: {mac: '02:00:00:00:00:01', lease_time: abc}\n", /type\.yaml#0 Hardware default\/m1: spec\.interfaces\[0\]\.dhcp\.lease_time/],
        ["dup.yaml", "apiVersion: tinkerbell.org/v1alpha1\nkind: Template\nmetadata: {name: t}\nspec: {data: 'x'}\n---\napiVersion: tinkerbell.org/v1alpha1\nkind: Template\nmetadata: {name: t}\nspec: {data: 'x'}\n", /dup\.yaml#1.*t/],
        ["render.yaml", "apiVersion: tinkerbell.org/v1alpha1\nkind: Hardware\nmetadata: {name: r1}\nspec: {interfaces: [{dhcp: {mac: '02:00:00:00:00:09'}}]}\n---\napiVersion: tinkerbell.org/v1alpha1\nkind: Template\nmetadata: {name: r1}\nspec:\n  data: |\n    version: \"0.1\"\n    name: r1\n    tasks:\n      - name: t\n        worker: \"{{.device_2}}\"\n        actions: [{name: a, image: alpine}]\n---\napiVersion: tinkerbell.org/v1alpha1\nkind: Workflow\nmetadata: {name: r1}\nspec: {templateRef: r1, hardwareRef: r1, hardwareMap: {device_1: '02:00:00:00:00:09'}}\n", /device_2/],
        ["missing-template.yaml", "apiVersion: tinkerbell.org/v1alpha1\nkind: Workflow\nmetadata: {name: w9, namespace: tink-system}\nspec: {templateRef: nope, hardwareRef: nuc-demo}\n", /Template "nope"/],
      ];
      for (const [file, text, expected] of cases) {
        writeFileSync(join(dir, file), text);
        const r = await runWisp(["apply", "-f", join(dir, file)], env);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(expected);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
      const all = JSON.parse((await runWisp(["get", "hw", "-A", "-o", "json"], env)).stdout);
      expect(all.map((h: { metadata: { name: string } }) => h.metadata.name)).toEqual(["nuc-demo"]);
      expect((await runWisp(["get", "gizmo"], env)).stderr).toContain('unknown kind "gizmo"');
      expect((await runWisp(["get", "wf", "nope", "-n", "tink-system"], env)).code).toBe(1);
    });

    test("apply from stdin, dry run, and delete", async () => {
      const doc = "apiVersion: tinkerbell.org/v1alpha1\nkind: Template\nmetadata: {name: stdin-tpl}\nspec: {data: 'version: \"0.1\"'}\n";
      const dry = await runWisp(["apply", "-f", "-", "--dry-run"], env, doc);
      expect(dry.stdout).toContain("template/stdin-tpl created (dry run)");
      expect(JSON.parse((await runWisp(["get", "tpl", "-o", "json"], env)).stdout)).toEqual([]);
      expect((await runWisp(["apply", "-f", "-"], env, doc)).code).toBe(0);
      expect((await runWisp(["get", "tpl"], env)).stdout).toContain("stdin-tpl");
      expect((await runWisp(["delete", "tpl", "stdin-tpl"], env)).stdout).toContain("template/stdin-tpl deleted");
      expect((await runWisp(["delete", "wf", "demo-wf", "-n", "tink-system"], env)).code).toBe(0);
      expect((await runWisp(["get", "wf", "-A", "-o", "json"], env)).stdout.trim()).toBe("[]");
    });

    test("API errors are JSON with a stable code, the field and the right status", async () => {
      const token = readFileSync(join(env.WISP_DATA_DIR!, "api-token"), "utf8").trim();
      const auth = ["-H", `Authorization: Bearer ${token}`, "-H", "content-type: application/json"];
      const broken = await curl([...auth, "-X", "POST", `${wispd.url}/api/v1/apply`, "-d", "{bad json"]);
      expect(broken.status).toBe(400);
      expect(JSON.parse(broken.body)).toEqual({ code: "invalid_argument", message: "request body could not be parsed as JSON" });
      const empty = await curl([...auth, "-X", "POST", `${wispd.url}/api/v1/apply`, "-d", '{"sources":[]}']);
      expect(empty.status).toBe(400);
      expect(JSON.parse(empty.body).field).toBe("sources");
      const hw = (lease: unknown) => JSON.stringify({ apiVersion: "tinkerbell.org/v1alpha1", kind: "Hardware", metadata: { name: "api-hw" }, spec: { interfaces: [{ dhcp: { mac: "02:AA:00:00:00:01", lease_time: lease } }] } });
      const wrong = await curl([...auth, "-X", "POST", `${wispd.url}/api/v1/namespaces/default/hardware`, "-d", hw("x")]);
      expect(wrong.status).toBe(400);
      expect(JSON.parse(wrong.body)).toMatchObject({ code: "invalid_manifest", field: "spec.interfaces[0].dhcp.lease_time" });
      const created = await curl([...auth, "-X", "POST", `${wispd.url}/api/v1/namespaces/default/hardware`, "-d", hw(600)]);
      expect(created.status).toBe(201);
      expect(JSON.parse(created.body).spec.interfaces[0].dhcp.mac).toBe("02:aa:00:00:00:01");
      const dup = await curl([...auth, "-X", "POST", `${wispd.url}/api/v1/namespaces/default/hardware`, "-d", hw(600)]);
      expect(dup.status).toBe(409);
      expect(JSON.parse(dup.body).code).toBe("already_exists");
      const kind = await curl([...auth, `${wispd.url}/api/v1/gizmos`]);
      expect(kind.status).toBe(400);
      expect(JSON.parse(kind.body).field).toBe("kind");
      const gone = await curl([...auth, "-X", "PUT", `${wispd.url}/api/v1/namespaces/default/hardware/nope`, "-d", hw(1).replace("api-hw", "nope")]);
      expect(gone.status).toBe(404);
      expect((await curl([...auth, "-X", "DELETE", `${wispd.url}/api/v1/namespaces/default/hardware/api-hw`])).status).toBe(200);
    });

    test("the OpenAPI document describes the routes", async () => {
      const r = await curl([`${wispd.url}/api/v1/openapi.json`]);
      expect(r.status).toBe(200);
      const doc = JSON.parse(r.body);
      expect(Object.keys(doc.paths)).toContain("/api/v1/apply");
      expect(Object.keys(doc.paths)).toContain("/api/v1/namespaces/{ns}/{kind}/{name}");
    });
  });
}

describe("wispd and wisp command lines", () => {
  test("--help documents the options; a bad option exits 2 with one line", async () => {
    const help = Bun.spawnSync(["node", join(import.meta.dir, "../../bin/wispd"), "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("--database-url");
    const bad = Bun.spawnSync(["node", join(import.meta.dir, "../../bin/wispd"), "--http-port", "x"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString().trim()).toBe('wispd: --http-port: expected a port number 0-65535, got "x"');
  });

  test("the CLI says plainly when it cannot reach wispd", async () => {
    const r = await runWisp(["get", "hw"], { WISP_SERVER: "http://127.0.0.1:9", WISP_TOKEN: "x" });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("wisp: cannot reach wispd at http://127.0.0.1:9");
  });
});
