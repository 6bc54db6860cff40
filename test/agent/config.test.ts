/** wisp-agent options: precedence flags > environment > kernel command line > default; cmdline parsing; --help from the table. */
import { describe, expect, test } from "bun:test";
import { ConfigError, helpText, loadAgentConfig, OPTIONS, parseCmdline } from "../../agent/config.ts";

const CMDLINE = 'console=ttyS0 quiet worker_id=1c:69:7a:11:22:33 grpc_authority=10.0.0.1:42113 tinkerbell_tls=true docker_registry=10.0.0.1:5000 registry_username=admin registry_password="p w" syslog_host=10.0.0.1 wisp_agent_token=tok-cmdline';

describe("parseCmdline", () => {
  test("key=value words, bare keys as true, double quotes group", () => {
    const m = parseCmdline(CMDLINE + "\n");
    expect(m.get("worker_id")).toBe("1c:69:7a:11:22:33");
    expect(m.get("quiet")).toBe("true");
    expect(m.get("registry_password")).toBe("p w");
    expect(m.get("console")).toBe("ttyS0");
    expect(parseCmdline("").size).toBe(0);
    expect(parseCmdline("a=b=c =x").get("a")).toBe("b=c");
  });
});

describe("loadAgentConfig", () => {
  test("reads everything from the kernel command line", () => {
    const c = loadAgentConfig([], {}, CMDLINE);
    expect(c).toMatchObject({
      workerId: "1c:69:7a:11:22:33",
      grpcAuthority: "10.0.0.1:42113",
      tls: true,
      insecureTls: false,
      token: "tok-cmdline",
      registry: { host: "10.0.0.1:5000", username: "admin", password: "p w" },
      syslogHost: "10.0.0.1",
      privileged: true,
      dockerSocket: "/var/run/docker.sock",
      logLevel: "info",
    });
  });

  test("Tinkerbell's environment names beat the cmdline; AGENT_* beat Tinkerbell's; flags beat both", () => {
    const env = { WORKER_ID: "env-worker", TINKERBELL_GRPC_AUTHORITY: "env-host:1", TINKERBELL_TLS: "false", REGISTRY_USERNAME: "env-user", AGENT_TOKEN: "tok-env" };
    expect(loadAgentConfig([], env, CMDLINE)).toMatchObject({ workerId: "env-worker", grpcAuthority: "env-host:1", tls: false, token: "tok-env", registry: { host: "10.0.0.1:5000", username: "env-user" } });
    expect(loadAgentConfig([], { ...env, AGENT_WORKER_ID: "agent-worker" }, CMDLINE).workerId).toBe("agent-worker");
    const flags = ["--worker-id", "flag-worker", "--grpc-authority=flag-host:2", "--tls", "--token", "tok-flag", "--privileged", "false"];
    expect(loadAgentConfig(flags, { ...env, AGENT_WORKER_ID: "agent-worker" }, CMDLINE)).toMatchObject({ workerId: "flag-worker", grpcAuthority: "flag-host:2", tls: true, token: "tok-flag", privileged: false });
  });

  test("an empty environment variable does not hide the cmdline", () => {
    expect(loadAgentConfig([], { WORKER_ID: "" }, CMDLINE).workerId).toBe("1c:69:7a:11:22:33");
  });

  test("errors name the option and where its value came from", () => {
    const err = (f: () => unknown): ConfigError => {
      try {
        f();
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("no error");
    };
    expect(err(() => loadAgentConfig([], {}, "")).message).toBe("worker-id is required (--worker-id, AGENT_WORKER_ID, WORKER_ID, kernel argument worker_id=)");
    expect(err(() => loadAgentConfig([], { TINKERBELL_TLS: "maybe" }, CMDLINE)).message).toBe('TINKERBELL_TLS: expected true or false, got "maybe"');
    expect(err(() => loadAgentConfig([], {}, "worker_id=x grpc_authority=nohost")).message).toBe('kernel argument grpc_authority: expected host:port, got "nohost"');
    expect(err(() => loadAgentConfig(["--bogus", "1"], {}, CMDLINE)).field).toBe("bogus");
    expect(err(() => loadAgentConfig(["--token"], {}, CMDLINE)).message).toBe("option --token needs a value");
  });

  test("no registry configured: no credentials anywhere", () => {
    expect(loadAgentConfig([], { REGISTRY_USERNAME: "u" }, "worker_id=a grpc_authority=h:1").registry).toBeUndefined();
  });
});

test("--help lists every option with its kernel argument and environment names", () => {
  const help = helpText();
  for (const o of OPTIONS) {
    expect(help).toContain(`--${o.flag} `);
    for (const e of o.env) expect(help).toContain(e);
    if ("cmdline" in o) expect(help).toContain(o.cmdline);
  }
});
