/**
 * nginx as the HTTP peer: a temporary configuration (one process, `daemon off`, access log off,
 * sendfile) serving a directory on a loopback port, pinned to the server CPU.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pinned, SERVER_CPU } from "./pinning.ts";
import { freeTcpPort, waitUntil, type ProcessSet } from "./processes.ts";

/** The configuration: `dir` holds pid, logs and temp paths; `root` is served on `host`:`port`. */
export function nginxConfig(dir: string, root: string, port: number, opts: { host?: string; workerConnections?: number } = {}): string {
  const connections = opts.workerConnections ?? 1024;
  return `daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile ${connections * 2};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${connections}; }
http {
  access_log off;
  default_type text/plain;
  sendfile on;
  client_body_temp_path ${dir}/body;
  server {
    listen ${opts.host ?? "127.0.0.1"}:${port};
    root ${root};
  }
}
`;
}

/** A running nginx. */
export interface Nginx {
  url: string;
  pid: number;
}

/** Starts nginx serving `root` and waits until `probePath` answers 200. */
export async function startNginx(procs: ProcessSet, dir: string, root: string, probePath: string): Promise<Nginx> {
  const port = freeTcpPort();
  writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, root, port));
  const [cmd, ...args] = pinned(SERVER_CPU, ["nginx", "-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")]);
  const proc = procs.add(spawn(cmd!, args, { stdio: "ignore" }));
  const url = `http://127.0.0.1:${port}`;
  await waitUntil("nginx did not answer", async () => (await fetch(`${url}${probePath}`, { method: "HEAD" })).status === 200);
  return { url, pid: proc.pid! };
}
