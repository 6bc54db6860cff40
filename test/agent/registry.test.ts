/**
 * The compiled wisp-agent pulling from a private registry: Debian's docker-registry on loopback
 * with htpasswd auth (test/support/registry.ts), images pushed there with `docker push` and
 * removed locally. The right credentials on the kernel command line pull and run the action;
 * wrong ones fail it with a message naming the registry and the refusal; an unreachable registry
 * falls back to the image present locally.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TEST_IMAGE, type TestDocker } from "../support/docker.ts";
import { SETUP_TIMEOUT_MS } from "../support/processes.ts";
import { startRegistry, type TestRegistry } from "../support/registry.ts";
import { manifests, reported, startAgentLab, type AgentLab } from "./harness.ts";

const USER = { username: "wisp", password: "pw-of-wisp" };

describe("wisp-agent (compiled) with a private registry", () => {
  let lab: AgentLab;
  let docker: TestDocker;
  let registry: TestRegistry;
  let wisp: ReturnType<AgentLab["wisp"]>;

  beforeAll(async () => {
    lab = await startAgentLab("wisp-agent-registry-");
    docker = lab.docker;
    wisp = lab.wisp();
    registry = await startRegistry({ auth: USER });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await registry?.stop();
    await lab?.stop();
  });

  const agent = (mac: string, cmdline: string[]) => lab.agent(mac, cmdline);
  const present = async (image: string) => (await docker.api("GET", `/images/${encodeURIComponent(image)}/json`)).status === 200;
  const oneAction = (image: string, command: string) => `actions:\n  - name: from-registry\n    image: ${image}\n    timeout: 60\n    command: ${command}`;

  test("the image only the authenticated registry has is pulled with the agent's credentials and runs", async () => {
    const image = await registry.push(TEST_IMAGE, "actions/private:1");
    expect(await present(image)).toBe(false);
    // Without credentials the registry really refuses (so the success below is the credentials' doing).
    const anonymous = await fetch(`http://${registry.address}/v2/actions/private/manifests/1`);
    expect(anonymous.status).toBe(401);
    const mac = "02:00:00:00:b0:01";
    await wisp.apply(manifests("private", mac, oneAction(image, "[echo, pulled-with-auth]")));
    const a = agent(mac, [`docker_registry=${registry.address}`, `registry_username=${USER.username}`, `registry_password=${USER.password}`]);
    await reported(a, "private", "SUCCESS");
    expect((await wisp.workflow("private")).status.state).toBe("SUCCESS");
    expect(await present(image)).toBe(true);
    expect(a.logs.filter((l) => l.msg === "action output").map((l) => l.line)).toEqual(["pulled-with-auth"]);
    expect(a.logs.some((l) => l.msg === "image pull failed, using the local image")).toBe(false);
  }, 60_000);

  test("wrong credentials fail the action, naming the registry and the refusal", async () => {
    const image = await registry.push(TEST_IMAGE, "actions/locked:1");
    expect(await present(image)).toBe(false);
    const mac = "02:00:00:00:b0:02";
    await wisp.apply(manifests("locked", mac, oneAction(image, "[echo, must-not-run]")));
    const a = agent(mac, [`docker_registry=${registry.address}`, `registry_username=${USER.username}`, "registry_password=not-the-password"]);
    await reported(a, "locked", "FAILED");
    const wf = await wisp.workflow("locked");
    expect(wf.status.state).toBe("FAILED");
    const message = wf.status.tasks[0]!.actions[0]!.message ?? "";
    expect(message).toContain(`image ${image} could not be pulled and is not present locally`);
    expect(message).toContain(`registry ${registry.address} refused the credentials of user "${USER.username}"`);
    expect(message).toMatch(/unauthorized|authentication required/);
    expect(a.logs.some((l) => l.msg === "action output")).toBe(false);
    expect(await present(image)).toBe(false);
  }, 60_000);

  test("an unreachable registry: the image present locally is used, and the agent says so", async () => {
    // A registry address nothing listens on (a port just released).
    const gone = await startRegistry();
    const address = gone.address;
    await gone.stop();
    const image = `${address}/actions/local:1`;
    const [repo, tag] = [`${address}/actions/local`, "1"];
    const tagged = await docker.api("POST", `/images/${encodeURIComponent(TEST_IMAGE)}/tag?${new URLSearchParams({ repo, tag })}`);
    expect(tagged.status).toBe(201);
    try {
      const mac = "02:00:00:00:b0:03";
      await wisp.apply(manifests("local", mac, oneAction(image, "[echo, ran-from-local]")));
      const a = agent(mac, [`docker_registry=${address}`, `registry_username=${USER.username}`, `registry_password=${USER.password}`]);
      await reported(a, "local", "SUCCESS");
      const fallback = a.logs.find((l) => l.msg === "image pull failed, using the local image");
      expect(fallback).toMatchObject({ image });
      expect(String(fallback!.reason)).toContain(address);
      expect(a.logs.filter((l) => l.msg === "action output").map((l) => l.line)).toEqual(["ran-from-local"]);
    } finally {
      await (await docker.api("DELETE", `/images/${encodeURIComponent(image)}`)).body?.cancel();
    }
  }, 60_000);
});
