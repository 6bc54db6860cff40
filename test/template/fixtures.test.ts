/**
 * Real Tinkerbell templates (see fixtures/README.md) rendered with realistic data: the output
 * must equal the expected text exactly and parse as a YAML workflow definition.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { checkTemplate, renderTemplate } from "../../daemon/template/index.ts";

const FIXTURES = join(import.meta.dir, "fixtures");

/** The template of a fixture: a manifest's spec.data, or a bare template file. */
function templateOf(dir: string): string {
  const manifest = join(dir, "manifest.yaml");
  if (!existsSync(manifest)) return readFileSync(join(dir, "template.tmpl"), "utf8");
  const doc = YAML.parse(readFileSync(manifest, "utf8")) as { kind: string; spec: { data: string } };
  expect(doc.kind).toBe("Template");
  return doc.spec.data;
}

const fixtures = readdirSync(FIXTURES).filter((f) => !f.includes("."));

test("there are real-world fixtures", () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(8);
});

for (const name of fixtures) {
  const dir = join(FIXTURES, name);
  const cases = readdirSync(dir)
    .filter((f) => f.endsWith(".data.yaml"))
    .map((f) => f.slice(0, -".data.yaml".length));
  describe(name, () => {
    const source = templateOf(dir);

    test("passes the apply-time check", () => {
      expect(checkTemplate(source, { name })).toEqual({ ok: true, value: undefined });
    });

    for (const c of cases) {
      test(`${c}: renders exactly as expected, as YAML`, () => {
        const data = YAML.parse(readFileSync(join(dir, `${c}.data.yaml`), "utf8")) as Record<string, unknown>;
        const out = renderTemplate(source, data, { name });
        if (!out.ok) throw new Error(out.error.message);
        expect(out.value).toBe(readFileSync(join(dir, `${c}.expected`), "utf8"));
        const doc = YAML.parse(out.value) as { tasks: { worker: string; actions: unknown[] }[] };
        expect(doc.tasks.length).toBeGreaterThan(0);
        expect(doc.tasks[0]?.worker).not.toContain("{{");
        expect(out.value).not.toContain("{{");
      });
    }

    test("a missing hardwareMap key is an error naming the key", () => {
      const data = YAML.parse(readFileSync(join(dir, `${cases[0]}.data.yaml`), "utf8")) as Record<string, unknown>;
      const key = ["device_1", "agent"].find((k) => k in data) as string;
      delete data[key];
      const out = renderTemplate(source, data, { name });
      expect(out.ok).toBe(false);
      if (!out.ok) {
        expect(out.error.message).toContain(`map has no entry for key "${key}"`);
        expect(out.error.message).toStartWith(`template: ${name}:`);
        expect(out.error.line).toBeGreaterThan(0);
      }
    });
  });
}

describe("specific renderings", () => {
  const render = (name: string, c: string): string => {
    const dir = join(FIXTURES, name);
    const data = YAML.parse(readFileSync(join(dir, `${c}.data.yaml`), "utf8")) as Record<string, unknown>;
    const out = renderTemplate(templateOf(dir), data);
    if (!out.ok) throw new Error(out.error.message);
    return out.value;
  };

  test("formatPartition on an NVMe disk from .Hardware.Disks", () => {
    expect(render("tinkerbell-docs-ubuntu", "nvme")).toContain("DEST_DISK: /dev/nvme0n1p1\n");
  });

  test("else-if on (index .Hardware.Interfaces 0).DHCP.Arch through regexMatch and lower", () => {
    const x86 = YAML.parse(render("playground-vagrant", "x86")) as { tasks: { actions: { name: string; command?: string[] }[] }[] };
    const arm = YAML.parse(render("playground-vagrant", "arm")) as typeof x86;
    expect(x86.tasks[0]?.actions.at(-1)?.name).toBe("kexec into os");
    expect(x86.tasks[0]?.actions.at(-1)?.command).toBeUndefined();
    expect(arm.tasks[0]?.actions.at(-1)?.name).toBe("reboot into os");
    expect(arm.tasks[0]?.actions.at(-1)?.command?.[0]).toBe("sh");
  });

  test("range with $i, $k and {{- if $i }} builds a JSON list", () => {
    const doc = YAML.parse(render("flatcar-kit-install", "two-keys")) as {
      tasks: { actions: { environment: { IGNITION_CONFIG: string } }[] }[];
    };
    const ignition = JSON.parse(doc.tasks[0]?.actions[0]?.environment.IGNITION_CONFIG ?? "") as {
      passwd: { users: { sshAuthorizedKeys: string[] }[] };
    };
    expect(ignition.passwd.users[0]?.sshAuthorizedKeys).toHaveLength(2);
  });

  test("dig falls back to defaults and picks up hardwareMap overrides", () => {
    expect(render("flatcar-kit-advanced", "defaults")).toContain("docker-29.6.2-x86-64.raw");
    expect(render("flatcar-kit-advanced", "pinned")).toContain("docker-30.0.0-x86-64.raw");
    expect(render("flatcar-kit-advanced", "pinned")).toContain("tailscale-v1.99.0-x86-64.raw");
  });

  test("toYaml | nindent embeds a structure in a block scalar", () => {
    const doc = YAML.parse(render("tinkerbell-toyaml", "references")) as {
      tasks: { actions: { environment: { CONFIG: string } }[] }[];
    };
    const config = YAML.parse(doc.tasks[0]?.actions[0]?.environment.CONFIG ?? "");
    expect(config).toEqual({ hostname: "worker-1", network: { ip: "192.168.1.10", gateway: "192.168.1.1" } });
  });
});
