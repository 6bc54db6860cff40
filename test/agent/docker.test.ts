/** Image references as POST /images/create wants them, and X-Registry-Auth; the clear error of an unreachable daemon. */
import { expect, test } from "bun:test";
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
});

test("an unreachable daemon is an error naming the image and the socket", async () => {
  const docker = dockerClient("/nonexistent/docker.sock");
  await expect(docker.pull("wisp-test/busybox:1")).rejects.toThrow("pull image wisp-test/busybox:1: Docker daemon unreachable at /nonexistent/docker.sock");
});
