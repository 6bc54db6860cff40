/**
 * A small Docker Engine API client over the unix socket (`fetch` with `unix`, which also works
 * in a compiled binary): pull, create, wait, start, logs, stop, remove. The only file of the
 * agent that talks to Docker. Errors name the image or the container and say what failed.
 */
import { LogDemuxer, type LogLine } from "./log-stream.ts";

/** Pull attempts before falling back to a local copy of the image. */
export const PULL_ATTEMPTS = 3;
/** Pause between pull attempts. */
const PULL_RETRY_MS = 1_000;
/** Grace given to a container's process between SIGTERM and SIGKILL when an action times out. */
export const STOP_GRACE_SECONDS = 5;

/** Credentials sent (as X-Registry-Auth) only to images of `host`. */
export interface RegistryAuth {
  host: string;
  username?: string;
  password?: string;
}

/** What a container runs: the fields of an action. */
export interface ContainerSpec {
  image: string;
  command: string[];
  env: string[];
  /** docker -v syntax, `host:container[:ro]`. */
  binds: string[];
  pidMode?: string;
  networkMode?: string;
  privileged: boolean;
  name?: string;
  /** Container labels (the agent marks its containers, agent/runner.ts). */
  labels?: Record<string, string>;
}

/** A Docker failure that says what the agent was doing. */
export class DockerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** The registry refused the credentials (or their absence): retrying cannot help. */
    readonly authFailure = false,
  ) {
    super(message);
  }
}

// How Docker 20.10+ words a registry's 401 (docker/distribution's "authentication required", a
// missing header's "no basic auth credentials", Docker Hub's "pull access denied").
const AUTH_FAILURE = /unauthorized|authentication required|no basic auth credentials|pull access denied|denied: /i;

/** The calls the runner needs. */
export interface DockerClient {
  /**
   * Pulls `image` (a few tries; one when the registry refuses the credentials); if that fails and
   * the image is present locally, resolves anyway, to why the local copy is used.
   */
  pull(image: string): Promise<string | undefined>;
  create(spec: ContainerSpec): Promise<string>;
  /** Registers a wait for the next exit (resolves once Docker has it), then `exited` gives the exit code. */
  waitNextExit(id: string): Promise<{ exited: Promise<number> }>;
  start(id: string): Promise<void>;
  /** Follows stdout and stderr until the container ends, line by line. */
  logs(id: string, onLine: (line: LogLine) => void): Promise<void>;
  stop(id: string, graceSeconds?: number): Promise<void>;
  /** Removes the container (forced); a container already gone is not an error. */
  remove(id: string): Promise<void>;
  /** Whether the container still exists. */
  exists(id: string): Promise<boolean>;
  /** Ids of the containers (running or not) carrying label `key` with `value`. */
  labelled(key: string, value: string): Promise<string[]>;
  imageExists(image: string): Promise<boolean>;
}

/** `registry/repo:tag` split as `POST /images/create` wants it; the registry host only when named. */
export function parseImageRef(image: string): { fromImage: string; tag?: string; registry?: string } {
  const at = image.indexOf("@");
  const slash = image.indexOf("/");
  const first = slash > 0 ? image.slice(0, slash) : "";
  // The first component is a registry when it looks like a host (Docker's rule).
  const registry = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost") ? first : undefined;
  if (at >= 0) return { fromImage: image, registry };
  const colon = image.lastIndexOf(":");
  if (colon > image.lastIndexOf("/")) return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1), registry };
  return { fromImage: image, tag: "latest", registry };
}

/** X-Registry-Auth: base64url JSON of the credentials (Docker Engine API, "Authentication"). */
export function registryAuthHeader(auth: RegistryAuth): string {
  const json = JSON.stringify({ username: auth.username ?? "", password: auth.password ?? "", serveraddress: auth.host });
  return base64UrlPadded(json);
}

/**
 * Go's base64.URLEncoding: the URL alphabet WITH "=" padding. Docker 20.10 decodes the header
 * with it and, when that fails, pulls with no credentials at all ("no basic auth credentials"):
 * Node's unpadded "base64url" fails for two JSON lengths in three (seen against docker-registry).
 */
export function base64UrlPadded(text: string): string {
  return Buffer.from(text).toString("base64").replaceAll("+", "-").replaceAll("/", "_");
}

/** A client of the Engine API at `socket`. */
export function dockerClient(socket: string, opts: { registry?: RegistryAuth } = {}): DockerClient {
  const call = async (method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; what: string }): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`http://docker${path}`, {
        method,
        unix: socket,
        headers: { ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      } as RequestInit);
    } catch (e) {
      throw new DockerError(`${init.what}: Docker daemon unreachable at ${socket}: ${(e as Error).message}`);
    }
    return res;
  };
  const failure = async (res: Response, what: string): Promise<DockerError> => {
    const text = await res.text();
    let message = text.trim();
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {}
    return new DockerError(`${what}: Docker said ${res.status}: ${message}`, res.status);
  };
  const ok = async (res: Response, what: string, allowed: number[] = []): Promise<Response> => {
    if (res.ok || allowed.includes(res.status)) return res;
    throw await failure(res, what);
  };

  async function imageExists(image: string): Promise<boolean> {
    const res = await call("GET", `/images/${encodeURIComponent(image)}/json`, { what: `inspect image ${image}` });
    await res.body?.cancel();
    return res.ok;
  }

  async function pullOnce(image: string): Promise<void> {
    const ref = parseImageRef(image);
    const q = new URLSearchParams({ fromImage: ref.fromImage, ...(ref.tag ? { tag: ref.tag } : {}) });
    const creds = opts.registry && ref.registry === opts.registry.host ? opts.registry : undefined;
    const auth = creds ? { "x-registry-auth": registryAuthHeader(creds) } : undefined;
    const what = `pull image ${image}`;
    const refused = (message: string) => {
      if (!AUTH_FAILURE.test(message)) return undefined;
      const who = creds ? `the credentials of user "${creds.username ?? ""}" (registry_username/registry_password)` : "an anonymous pull (no credentials are configured for it: docker_registry, registry_username, registry_password)";
      return new DockerError(`${what}: registry ${ref.registry ?? "docker.io"} refused ${who}: ${message}`, undefined, true);
    };
    const res = await call("POST", `/images/create?${q}`, { headers: auth, what });
    if (!res.ok) {
      const e = await failure(res, what);
      throw refused(e.message) ?? e;
    }
    // The status is 200 once the pull starts; a failure later comes as an {"error"} line of the progress stream.
    for (const line of (await res.text()).split("\n")) {
      if (!line.trim()) continue;
      try {
        const msg = JSON.parse(line) as { error?: string };
        if (msg.error) throw refused(msg.error) ?? new DockerError(`${what}: ${msg.error}`);
      } catch (e) {
        if (e instanceof DockerError) throw e;
      }
    }
  }

  return {
    imageExists,
    async pull(image) {
      let last: unknown;
      for (let attempt = 1; attempt <= PULL_ATTEMPTS; attempt++) {
        try {
          await pullOnce(image);
          return undefined;
        } catch (e) {
          last = e;
          // Nothing to retry when the daemon itself is not there.
          if (e instanceof DockerError && e.status === undefined && e.message.includes("unreachable")) throw e;
          // An image already here is used at once: an offline Hook with preloaded images must not
          // wait out the retries on every action (measured: 2 s of 2.2 s per action, bench/agent).
          if (await imageExists(image)) return (e as Error).message;
          if (e instanceof DockerError && e.authFailure) break;
          if (attempt < PULL_ATTEMPTS) await Bun.sleep(PULL_RETRY_MS);
        }
      }
      throw new DockerError(`image ${image} could not be pulled and is not present locally: ${(last as Error).message}`);
    },
    async create(spec) {
      const what = `create container for image ${spec.image}`;
      const body = {
        Image: spec.image,
        ...(spec.command.length > 0 ? { Cmd: spec.command } : {}),
        Env: spec.env,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        ...(spec.labels ? { Labels: spec.labels } : {}),
        HostConfig: {
          Privileged: spec.privileged,
          Binds: spec.binds,
          ...(spec.pidMode ? { PidMode: spec.pidMode } : {}),
          ...(spec.networkMode ? { NetworkMode: spec.networkMode } : {}),
        },
      };
      const q = spec.name ? `?${new URLSearchParams({ name: spec.name })}` : "";
      const res = await ok(await call("POST", `/containers/create${q}`, { body, what }), what);
      return ((await res.json()) as { Id: string }).Id;
    },
    async waitNextExit(id) {
      const what = `wait for container ${id}`;
      // Docker sends the headers once the wait is registered, so an exit after start() is never missed.
      const res = await ok(await call("POST", `/containers/${id}/wait?condition=next-exit`, { what }), what);
      const exited = res.json().then((r) => {
        const w = r as { StatusCode: number; Error?: { Message?: string } | null };
        if (w.Error?.Message) throw new DockerError(`${what}: ${w.Error.Message}`);
        return w.StatusCode;
      });
      exited.catch(() => {}); // the caller awaits it; an unobserved rejection must not crash the agent meanwhile
      return { exited };
    },
    async start(id) {
      const what = `start container ${id}`;
      const res = await ok(await call("POST", `/containers/${id}/start`, { what }), what, [304]);
      await res.body?.cancel();
    },
    async logs(id, onLine) {
      const what = `logs of container ${id}`;
      const res = await ok(await call("GET", `/containers/${id}/logs?follow=1&stdout=1&stderr=1&timestamps=1`, { what }), what);
      const demux = new LogDemuxer();
      if (res.body) for await (const chunk of res.body) for (const l of demux.push(chunk)) onLine(l);
      for (const l of demux.end()) onLine(l);
    },
    async stop(id, graceSeconds = STOP_GRACE_SECONDS) {
      const what = `stop container ${id}`;
      const res = await ok(await call("POST", `/containers/${id}/stop?t=${graceSeconds}`, { what }), what, [304, 404]);
      await res.body?.cancel();
    },
    async remove(id) {
      const what = `remove container ${id}`;
      const res = await ok(await call("DELETE", `/containers/${id}?force=1&v=1`, { what }), what, [404]);
      await res.body?.cancel();
    },
    async labelled(key, value) {
      const what = `list containers labelled ${key}=${value}`;
      const filters = encodeURIComponent(JSON.stringify({ label: [`${key}=${value}`] }));
      const res = await ok(await call("GET", `/containers/json?all=1&filters=${filters}`, { what }), what);
      return ((await res.json()) as { Id: string }[]).map((c) => c.Id);
    },
    async exists(id) {
      const res = await call("GET", `/containers/${id}/json`, { what: `inspect container ${id}` });
      await res.body?.cancel();
      if (res.status === 404) return false;
      if (!res.ok) throw await failure(res, `inspect container ${id}`);
      return true;
    },
  };
}
