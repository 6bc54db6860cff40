/**
 * The iPXE script, pure: Hook for BIOS, UEFI and arm64 machines, osie overrides, the Hardware's
 * own script or URL, refusals, the generic script of auto-proxy, the kernel arguments Hook
 * reads, values that would break a line; every script checked line by line against iPXE's
 * grammar and run through a model of iPXE's shell (retries bounded, flow as intended).
 */
import { describe, expect, test } from "bun:test";
import type { DhcpHost } from "../../daemon/dhcp/types.ts";
import {
  defaultArtifactsUrl,
  HOOK_CONSOLES,
  hookArch,
  ipxeScript,
  SCRIPT_RETRIES,
  scriptMachine,
  type ScriptMachine,
  type ScriptOutcome,
  type ScriptSettings,
} from "../../daemon/http/ipxe-script.ts";
import { checkIpxeScript, runIpxeScript } from "./ipxe-model.ts";

const SETTINGS: ScriptSettings = { publicIp: "192.168.1.10", httpPort: 7080, grpcPort: 42113, mode: "reservation", userClass: "Wisp" };
const MAC = "1c:69:7a:11:22:33";
const machine = (over: Partial<ScriptMachine> = {}): ScriptMachine => ({ mac: MAC, namespace: "tink-system", hardwareName: "nuc-demo", allowPXE: true, ...over });

function script(outcome: ScriptOutcome): string {
  if (outcome.kind !== "script") throw new Error(`expected a script, got ${JSON.stringify(outcome)}`);
  expect(checkIpxeScript(outcome.text)).toEqual([]);
  return outcome.text;
}

const kernelLine = (text: string): string => text.split("\n").find((l) => l.startsWith("kernel "))!;
/** The kernel command line as Hook sees it (the words after the URL, before the retry logic). */
const kernelArgs = (text: string): string[] => kernelLine(text).split(" && ")[0]!.split(" ").slice(2);

describe("Hook script by machine", () => {
  const cases: { name: string; m: ScriptMachine; arch: string; consoles: readonly string[] }[] = [
    { name: "x86_64", m: machine({ arch: "x86_64" }), arch: "x86_64", consoles: HOOK_CONSOLES.x86_64 },
    { name: "amd64", m: machine({ arch: "AMD64" }), arch: "x86_64", consoles: HOOK_CONSOLES.x86_64 },
    { name: "aarch64 UEFI", m: machine({ arch: "aarch64" }), arch: "aarch64", consoles: HOOK_CONSOLES.aarch64 },
    { name: "arm64 maps to aarch64", m: machine({ arch: "arm64" }), arch: "aarch64", consoles: HOOK_CONSOLES.aarch64 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const text = script(ipxeScript(c.m, {}, SETTINGS));
      expect(text.startsWith("#!ipxe\n")).toBe(true);
      expect(text).toContain(`\nset arch ${c.arch}\n`);
      expect(text).toContain(`\nset base-url http://192.168.1.10:7080/artifacts\n`);
      expect(kernelLine(text)).toStartWith("kernel ${base-url}/vmlinuz-${arch} initrd=initramfs-${arch} ");
      expect(text).toContain("\ninitrd ${base-url}/initramfs-${arch} && goto boot-start || ");
      expect(text).toContain("\nboot && goto boot-failed || ");
      const args = kernelArgs(text);
      expect(args.filter((a) => a.startsWith("console="))).toEqual([...c.consoles]);
    });
  }

  test("BIOS and UEFI get the same script: one Hook kernel, initrd= named for the EFI stub", () => {
    const bios = script(ipxeScript(machine({ arch: "x86_64" }), {}, SETTINGS));
    // DhcpHost.uefi only picks the iPXE binary; the script does not depend on it.
    const host: DhcpHost = { ...hostOf(machine({ arch: "x86_64" })), uefi: true };
    expect(script(ipxeScript(scriptMachine(host, undefined), {}, SETTINGS))).toBe(bios);
  });

  test("without a known arch the script asks iPXE's ${buildarch}", () => {
    for (const arch of [undefined, "riscv64"]) {
      const text = script(ipxeScript(machine({ arch }), {}, SETTINGS));
      expect(text).toContain("iseq ${buildarch} arm64 && set arch aarch64 ||");
      expect(kernelArgs(text)).toContain("${consoles}");
      const arm = runIpxeScript(text, () => true, { "netX/ip": "10.0.0.5", buildarch: "arm64" });
      expect(arm.end).toBe("booted");
      expect(arm.trace.find((l) => l.startsWith("kernel "))).toStartWith("kernel http://192.168.1.10:7080/artifacts/vmlinuz-aarch64 initrd=initramfs-aarch64 ");
      expect(arm.trace.find((l) => l.startsWith("kernel "))).toContain(HOOK_CONSOLES.aarch64.join(" "));
      const x86 = runIpxeScript(text, () => true, { "netX/ip": "10.0.0.5", buildarch: "i386" });
      expect(x86.trace.find((l) => l.startsWith("initrd "))).toBe("initrd http://192.168.1.10:7080/artifacts/initramfs-x86_64");
    }
  });

  test("hookArch maps Hardware arch names", () => {
    expect([hookArch("x86_64"), hookArch("arm64"), hookArch("i386"), hookArch("ppc64le"), hookArch(undefined)]).toEqual(["x86_64", "aarch64", "x86_64", undefined, undefined]);
  });
});

describe("kernel arguments Hook reads (COMPAT section 3)", () => {
  test("worker_id is the agentID when set; hw_addr, grpc_authority, TLS, syslog, facility, vlan_id", () => {
    const args = kernelArgs(script(ipxeScript(machine({ arch: "x86_64", agentId: "agent-7", facility: "lab1", vlanId: "120" }), {}, SETTINGS)));
    expect(args).toEqual([
      "initrd=initramfs-${arch}",
      "worker_id=agent-7",
      `hw_addr=${MAC}`,
      "grpc_authority=192.168.1.10:42113",
      "tinkerbell_tls=false",
      "tinkerbell_insecure_tls=false",
      "syslog_host=192.168.1.10",
      "facility=lab1",
      "vlan_id=120",
      ...HOOK_CONSOLES.x86_64,
    ]);
  });

  test("worker_id is the MAC without an agentID; no facility or vlan_id when the Hardware has none", () => {
    const args = kernelArgs(script(ipxeScript(machine({ arch: "x86_64" }), {}, SETTINGS)));
    expect(args).toContain(`worker_id=${MAC}`);
    expect(args.some((a) => a.startsWith("facility=") || a.startsWith("vlan_id="))).toBe(false);
  });

  test("grpc_authority and syslog_host follow the settings", () => {
    const args = kernelArgs(script(ipxeScript(machine({ arch: "x86_64" }), {}, { ...SETTINGS, publicIp: "10.0.0.1", grpcPort: 5000 })));
    expect(args).toContain("grpc_authority=10.0.0.1:5000");
    expect(args).toContain("syslog_host=10.0.0.1");
  });
});

describe("osie overrides", () => {
  test("baseURL, kernel, initrd and kernelParams; the Hardware's params come last so they win", () => {
    const osie = { baseURL: "http://mirror.example/hook/", kernel: "vmlinuz-custom", initrd: "boot/initrd-custom.img", kernelParams: ["sshd=1", "console=ttyS1,115200"] };
    const text = script(ipxeScript(machine({ arch: "x86_64", osie }), {}, SETTINGS));
    expect(text).toContain("\nset base-url http://mirror.example/hook\n");
    expect(kernelLine(text)).toStartWith("kernel ${base-url}/vmlinuz-custom initrd=initrd-custom.img ");
    expect(text).toContain("\ninitrd ${base-url}/boot/initrd-custom.img && ");
    expect(kernelArgs(text).slice(-3)).toEqual(["console=ttyS0,115200", "sshd=1", "console=ttyS1,115200"]);
  });

  test("a kernel or initrd given as a URL is used as is", () => {
    const osie = { kernel: "https://cdn.example/k/vmlinuz", initrd: "http://cdn.example/i/initramfs" };
    const text = script(ipxeScript(machine({ arch: "aarch64", osie }), {}, SETTINGS));
    expect(kernelLine(text)).toStartWith("kernel https://cdn.example/k/vmlinuz initrd=initramfs ");
    expect(text).toContain("\ninitrd http://cdn.example/i/initramfs && ");
  });

  test("the default base URL is http://<publicIp>:<httpPort>/artifacts", () => {
    expect(defaultArtifactsUrl({ publicIp: "10.1.2.3", httpPort: 8080 })).toBe("http://10.1.2.3:8080/artifacts");
  });
});

describe("the Hardware's own script", () => {
  test("netboot.ipxe.contents is served as it is", () => {
    const contents = "#!ipxe\necho custom\nchain http://10.0.0.9/x.ipxe\n";
    expect(ipxeScript(machine({ ipxe: { contents } }), {}, SETTINGS)).toEqual({ kind: "script", source: "contents", text: contents });
  });

  test("contents without the #!ipxe magic get it, else iPXE would not run them as a script", () => {
    const out = ipxeScript(machine({ ipxe: { contents: "echo hi\nshell\n" } }), {}, SETTINGS);
    expect(out.kind === "script" && out.text).toBe("#!ipxe\necho hi\nshell\n");
  });

  test("netboot.ipxe.url: a script that chains to it, with retries", () => {
    const text = script(ipxeScript(machine({ ipxe: { url: "https://boot.example/m1.ipxe" } }), {}, SETTINGS));
    expect(text).toContain("\nchain --autofree https://boot.example/m1.ipxe && goto chain-done || ");
    expect(runIpxeScript(text, () => true, { "netX/ip": "10.0.0.5" }).end).toEqual({ exit: 0 });
    const failing = runIpxeScript(text, (cmd) => cmd !== "chain", { "netX/ip": "10.0.0.5" });
    expect(failing.end).toEqual({ exit: 1 });
    expect(failing.trace.filter((l) => l.startsWith("chain ")).length).toBe(SCRIPT_RETRIES + 1);
  });

  test("contents win over url (as in smee); a url that is not http(s) is refused", () => {
    expect(ipxeScript(machine({ ipxe: { contents: "#!ipxe\n", url: "http://x/y" } }), {}, SETTINGS)).toMatchObject({ source: "contents" });
    expect(ipxeScript(machine({ ipxe: { url: "ftp://x/y" } }), {}, SETTINGS)).toMatchObject({ kind: "refused", reason: "bad-chain-url", status: 500 });
  });
});

describe("refusals and machines Wisp does not know", () => {
  test("allowPXE false: 404, and a body that says why", () => {
    const out = ipxeScript(machine({ allowPXE: false, arch: "x86_64" }), {}, SETTINGS);
    expect(out).toMatchObject({ kind: "refused", reason: "pxe-not-allowed", status: 404 });
    if (out.kind !== "refused") return;
    expect(out.text).toBe(
      "#!ipxe\n# Wisp: netboot.allowPXE is false for tink-system/nuc-demo (1c:69:7a:11:22:33)\necho Wisp: netboot.allowPXE is false for tink-system/nuc-demo (1c:69:7a:11:22:33)\nexit 1\n",
    );
    expect(checkIpxeScript(out.text)).toEqual([]);
  });

  test("allowPXE false is refused in auto-proxy too (the machine is known)", () => {
    expect(ipxeScript(machine({ allowPXE: false }), {}, { ...SETTINGS, mode: "auto-proxy" })).toMatchObject({ reason: "pxe-not-allowed" });
  });

  test("unknown machine: 404 naming the MAC or the address it was looked up by", () => {
    for (const mode of ["reservation", "proxy"] as const) {
      expect(ipxeScript(undefined, { mac: "aa:bb:cc:dd:ee:ff" }, { ...SETTINGS, mode })).toMatchObject({ status: 404, reason: "unknown-machine", message: "no Hardware has MAC aa:bb:cc:dd:ee:ff" });
    }
    expect(ipxeScript(undefined, { address: "10.0.0.7" }, SETTINGS)).toMatchObject({ message: "no Hardware has address 10.0.0.7" });
  });

  test("unknown machine in auto-proxy: the generic script, worker_id and hw_addr from iPXE's own ${netX/mac}", () => {
    const text = script(ipxeScript(undefined, { mac: "aa:bb:cc:dd:ee:ff" }, { ...SETTINGS, mode: "auto-proxy" }));
    const args = kernelArgs(text);
    expect(args).toContain("worker_id=${netX/mac}");
    expect(args).toContain("hw_addr=${netX/mac}");
    expect(args.some((a) => a.startsWith("facility=") || a.startsWith("vlan_id="))).toBe(false);
    const run = runIpxeScript(text, () => true, { "netX/ip": "10.0.0.5", "netX/mac": "aa:bb:cc:dd:ee:ff" });
    expect(run.end).toBe("booted");
    expect(run.trace.find((l) => l.startsWith("kernel "))).toContain(" worker_id=aa:bb:cc:dd:ee:ff hw_addr=aa:bb:cc:dd:ee:ff ");
  });
});

describe("Hardware values that would break a line are refused, not served", () => {
  const bad: [string, Partial<ScriptMachine>, string][] = [
    ["a parameter with a space", { osie: { kernelParams: ["ok=1", "a b"] } }, "osie.kernelParams[1]"],
    ["a parameter starting a comment", { osie: { kernelParams: ["#x"] } }, "osie.kernelParams[0]"],
    ["a separator", { osie: { kernelParams: ["&&"] } }, "osie.kernelParams[0]"],
    ["a line break that would add a command", { osie: { kernelParams: ["x\nchain http://evil/"] } }, "osie.kernelParams[0]"],
    ["an agentID with a space", { agentId: "agent 1" }, "agentID"],
    ["a baseURL with a tab", { osie: { baseURL: "http://x/\t" } }, "osie.baseURL"],
    ["a chain URL with a line break", { ipxe: { url: "http://x/y\nshell" } }, "netboot.ipxe.url"],
  ];
  for (const [name, over, field] of bad) {
    test(name, () => {
      const out = ipxeScript(machine(over), {}, SETTINGS);
      expect(out).toMatchObject({ kind: "refused", reason: "unsafe-value", status: 500 });
      expect(out.kind === "refused" && out.message).toStartWith(`${field} of tink-system/nuc-demo`);
    });
  }
  test("empty kernel parameters are left out", () => {
    expect(kernelArgs(script(ipxeScript(machine({ arch: "x86_64", osie: { kernelParams: ["", "a=1"] } }), {}, SETTINGS))).slice(-1)).toEqual(["a=1"]);
  });
});

describe("flow of the Hook script in a model of iPXE's shell", () => {
  const text = () => script(ipxeScript(machine({ arch: "x86_64" }), {}, SETTINGS));

  test("everything works: kernel, initrd, boot once each; no DHCP when the link is up", () => {
    const run = runIpxeScript(text(), () => true, { "netX/ip": "10.0.0.5" });
    expect(run.end).toBe("booted");
    expect(run.trace.filter((l) => /^(kernel|initrd|boot|dhcp)\b/.test(l)).map((l) => l.split(" ")[0])).toEqual(["kernel", "initrd", "boot"]);
  });

  test("a kernel that never comes: tried 1 + SCRIPT_RETRIES times with sleeps, then exit 1 with the reason", () => {
    const run = runIpxeScript(text(), (cmd) => cmd !== "kernel", { "netX/ip": "10.0.0.5" });
    expect(run.end).toEqual({ exit: 1 });
    expect(run.trace.filter((l) => l.startsWith("kernel ")).length).toBe(SCRIPT_RETRIES + 1);
    expect(run.trace.filter((l) => l.startsWith("sleep ")).length).toBe(SCRIPT_RETRIES);
    expect(run.trace).toContain("echo Wisp: giving up: could not load the kernel http://192.168.1.10:7080/artifacts/vmlinuz-x86_64");
    expect(run.trace.some((l) => l.startsWith("initrd "))).toBe(false);
  });

  test("an initrd that fails twice, then comes", () => {
    const run = runIpxeScript(text(), (cmd, n) => cmd !== "initrd" || n > 2, { "netX/ip": "10.0.0.5" });
    expect(run.end).toBe("booted");
    expect(run.trace.filter((l) => l.startsWith("initrd ")).length).toBe(3);
  });

  test("no address yet: DHCP first, with our user class set before it", () => {
    let classAtDhcp: string | undefined;
    const run = runIpxeScript(text(), (cmd, _n, s) => {
      if (cmd === "dhcp") classAtDhcp = s["user-class"];
      return true;
    });
    expect(run.end).toBe("booted");
    expect(classAtDhcp).toBe("Wisp");
    expect(run.trace.filter((l) => l === "dhcp").length).toBe(1);
  });

  test("DHCP that never answers ends the script, bounded", () => {
    const run = runIpxeScript(text(), (cmd) => cmd !== "dhcp");
    expect(run.end).toEqual({ exit: 1 });
    expect(run.trace.filter((l) => l === "dhcp").length).toBe(SCRIPT_RETRIES + 1);
  });

  test("a boot that fails is retried, then gives up", () => {
    const run = runIpxeScript(text(), (cmd) => cmd !== "boot", { "netX/ip": "10.0.0.5" });
    expect(run.end).toEqual({ exit: 1 });
    expect(run.trace.filter((l) => l === "boot").length).toBe(SCRIPT_RETRIES + 1);
  });
});

describe("the line checker has teeth", () => {
  test("it catches what iPXE would refuse", () => {
    expect(checkIpxeScript("echo no magic\n")).toContain('line 1: the script must start with "#!ipxe"');
    expect(checkIpxeScript("#!ipxe\nkernal http://x/k\n")[0]).toContain('unknown command "kernal"');
    expect(checkIpxeScript("#!ipxe\ngoto nowhere\n")[0]).toContain('no label ":nowhere"');
    expect(checkIpxeScript("#!ipxe\nkernel ${base}/k\n")[0]).toContain("${base} is never set");
    expect(checkIpxeScript("#!ipxe\nset n:int32 x\n")[0]).toContain("int32 needs a number");
    expect(checkIpxeScript("#!ipxe\niseq a\n")[0]).toContain("iseq takes 2-2 arguments");
    expect(checkIpxeScript("#!ipxe\nkernel --bogus http://x/k\n")[0]).toContain("unknown option --bogus");
    expect(checkIpxeScript("#!ipxe\necho ${a\n")[0]).toContain("unclosed");
  });
  test("comments, labels and continuations read as iPXE reads them", () => {
    expect(checkIpxeScript("#!ipxe\n# kernal\n:top\nset a 1 # goto nowhere\nkernel http://x/k \\\n  a=1 && goto top ||\n")).toEqual([]);
  });
});

describe("scriptMachine", () => {
  test("takes osie from the interface with the host's MAC and the facility from the metadata", () => {
    const host = hostOf(machine({ arch: "x86_64", agentId: "a1", vlanId: "7" }));
    const hw = {
      spec: {
        metadata: { facility: { facility_code: "lab9" } },
        interfaces: [
          { dhcp: { mac: "aa:aa:aa:aa:aa:aa" }, netboot: { osie: { kernel: "other" } } },
          { dhcp: { mac: "1C-69-7A-11-22-33" }, netboot: { osie: { kernelParams: ["x=1"] } } },
        ],
      },
    };
    expect(scriptMachine(host, hw)).toEqual({ ...machine({ arch: "x86_64", agentId: "a1", vlanId: "7" }), facility: "lab9", osie: { kernelParams: ["x=1"] } });
    expect(scriptMachine(host, undefined)).toEqual(machine({ arch: "x86_64", agentId: "a1", vlanId: "7" }));
  });
});

function hostOf(m: ScriptMachine): DhcpHost {
  const host: DhcpHost = {
    namespace: m.namespace,
    hardwareName: m.hardwareName,
    mac: m.mac,
    nameServers: [],
    timeServers: [],
    routes: [],
    allowPXE: m.allowPXE,
    allowWorkflow: false,
    disableDhcp: false,
  };
  if (m.arch !== undefined) host.arch = m.arch;
  if (m.agentId !== undefined) host.agentId = m.agentId;
  if (m.vlanId !== undefined) host.vlanId = m.vlanId;
  return host;
}
