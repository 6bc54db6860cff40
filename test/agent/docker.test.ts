/** Image references as POST /images/create wants them, and X-Registry-Auth; the clear error of an unreachable daemon. */
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dockerClient, parseImageRef, registryAuthHeader } from "../../agent/docker.ts";

test("splits repository, tag and registry host", () => {
  expect(parseImageRef("quay.io/tinkerbell-actions/image2disk:v1.0.0")).toEqual({ fromImage: "quay.io/tinkerbell-actions/image2disk", tag: "v1.0.0", registry: "quay.io" });
  expect(parseImageRef("10.0.0.1:5000/actions/cexec")).toEqual({ fromImage: "10.0.0.1:5000/actions/cexec", tag: "latest", registry: "10.0.0.1:5000" });
  expect(parseImageRef("localhost/x:1")).toMatchObject({ registry: "localhost", tag: "1" });
  expect(parseImageRef("wisp-test/busybox:1")).toEqual({ fromImage: "wisp-test/busybox", tag: "1", registry: undefined });
  expect(parseImageRef("busybox")).toEqual({ fromImage: "busybox", tag: "latest", registry: undefined });
  expect(parseImageRef("r.io/a@sha256:ab")).toEqual({ fromImage: "r.io/a@sha256:ab", registry: "r.io" });
});

test("X-Registry-Auth is base64url JSON with the server address", () => {
  const h = registryAuthHeader({ host: "10.0.0.1:5000", username: "u", password: "p?>" });
  expect(JSON.parse(Buffer.from(h, "base64url").toString())).toEqual({ username: "u", password: "p?>", serveraddress: "10.0.0.1:5000" });
  // Go's base64.URLEncoding (Docker 20.10) wants the padding: the length is a multiple of 4, "=" kept, no "+" or "/".
  for (const password of ["p", "pp", "ppp", "p?>~~~"]) {
    const padded = registryAuthHeader({ host: "r:5000", username: "u", password });
    expect(padded.length % 4).toBe(0);
    expect(padded).toMatch(/^[A-Za-z0-9_-]*=*$/);
  }
  expect(["p", "pp", "ppp"].filter((password) => registryAuthHeader({ host: "r:5000", username: "u", password }).endsWith("=")).length).toBe(2);
});

test("an unreachable daemon is an error naming the image and the socket", async () => {
  const docker = dockerClient("/nonexistent/docker.sock");
  await expect(docker.pull("wisp-test/busybox:1")).rejects.toThrow("pull image wisp-test/busybox:1: Docker daemon unreachable at /nonexistent/docker.sock");
});

/** A stand-in Docker API on a unix socket whose pulls always fail; `present` says whether the image is local. */
async function failingRegistry(present: boolean): Promise<{ socket: string; calls: string[]; stop(): void }> {
  const socket = `${mkdtempSync(`${tmpdir()}/wisp-docker-`)}/docker.sock`;
  const calls: string[] = [];
  const server = Bun.serve({
    unix: socket,
    fetch(req) {
      const url = new URL(req.url);
      calls.push(`${req.method} ${url.pathname}`);
      if (url.pathname.endsWith("/images/create")) return Response.json({ message: "registry unreachable" }, { status: 500 });
      return present ? Response.json({ Id: "sha256:1" }) : Response.json({ message: "no such image" }, { status: 404 });
    },
  });
  return { socket, calls, stop: () => void server.stop(true) };
}

test("a failed pull of an image already present locally goes on at once, without waiting out the retries", async () => {
  const api = await failingRegistry(true);
  try {
    await dockerClient(api.socket).pull("wisp-test/busybox:1");
    expect(api.calls.filter((c) => c.includes("/images/create"))).toHaveLength(1);
  } finally {
    api.stop();
  }
});

test("a failed pull of an image that is not present is retried, then named in the error", async () => {
  const api = await failingRegistry(false);
  try {
    await expect(dockerClient(api.socket).pull("wisp-test/busybox:1")).rejects.toThrow("image wisp-test/busybox:1 could not be pulled and is not present locally");
    expect(api.calls.filter((c) => c.includes("/images/create"))).toHaveLength(3);
  } finally {
    api.stop();
  }
});
