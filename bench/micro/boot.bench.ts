// Micro-benchmark of the per-machine boot answers over HTTP: the iPXE script rendered for a
// Hardware (what GET /ipxe/script/<mac>/auto.ipxe does after its index lookup), the metadata
// lookup (client address -> Hardware among 10,000 in the index, its prepared tree, a leaf), and
// the Tinkerbell template of ../shared/examples rendered for a workflow. Method:
// bench/support/micro.ts. Run: npx bun bench/micro/boot.bench.ts
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { templateData } from "../../daemon/core/render.ts";
import { hostsFromHardware } from "../../daemon/dhcp/host.ts";
import { ipxeScript, scriptMachine, type ScriptSettings } from "../../daemon/http/ipxe-script.ts";
import type { HardwareSpec } from "../../daemon/manifest/types.ts";
import { identify } from "../../daemon/metadata/routes.ts";
import { machineMetadata, resolvePath, type MachineMetadata } from "../../daemon/metadata/tree.ts";
import { renderTemplate } from "../../daemon/template/index.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";
import { runMicro } from "../support/micro.ts";

const EXAMPLES = join(import.meta.dir, "..", "..", "..", "shared", "examples");
const HOSTS = 10_000;
const doc = <T>(file: string) => parseAllDocuments(readFileSync(join(EXAMPLES, file), "utf8"))[0]!.toJS() as T;
type Manifest = { metadata: { name: string; namespace: string }; spec: Record<string, unknown> };
const hardware = doc<Manifest>("hardware.yaml");
const template = doc<Manifest>("template.yaml");
const workflow = doc<Manifest>("workflow.yaml");

// The example Hardware, and the iPXE script wispd renders for it.
const host = hostsFromHardware(hardware as never)[0]!;
const settings: ScriptSettings = { publicIp: "192.168.1.1", httpPort: 7080, grpcPort: 42113, mode: "reservation", userClass: "Wisp", agentToken: "0123456789abcdef0123456789abcdef" };
const script = ipxeScript(scriptMachine(host, hardware as never), { mac: host.mac }, settings);
if (script.kind !== "script") throw new Error(`no script: ${script.message}`);

// 10,000 Hardware claiming 10.0.x.y, as the index's claims map holds them.
const claims = new Map<number, { namespace: string; name: string; spec: HardwareSpec }[]>();
for (let i = 0; i < HOSTS; i++) {
  const address = `10.0.${(i >> 8) + 1}.${i & 255}`;
  const spec = { ...(hardware.spec as HardwareSpec), interfaces: [{ dhcp: { mac: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`, hostname: `node-${i}`, ip: { address, netmask: "255.255.0.0" } } }] } as HardwareSpec;
  claims.set((parseIpv4(address) as { value: number }).value, [{ namespace: "lab", name: `node-${i}`, spec }]);
}
const lookup = { hardwareByIp: (ip: number) => claims.get(ip) ?? [] };
const prepared = new WeakMap<HardwareSpec, MachineMetadata>();
const metadataOf = (s: { spec: HardwareSpec }) => {
  let md = prepared.get(s.spec);
  if (md === undefined) prepared.set(s.spec, (md = machineMetadata(s.spec)));
  return md;
};
const addr = { ip: (parseIpv4("10.0.20.77") as { value: number }).value, text: "10.0.20.77", source: "peer" as const };
const someSpec = claims.get(addr.ip)![0]!.spec;
const lookupLeaf = () => {
  const who = identify(lookup as never, addr as never, undefined, (s) => metadataOf(s).instanceId);
  if (!who.ok) throw new Error(who.message);
  return resolvePath(metadataOf(who.source).ec2, "meta-data/hostname");
};
if (lookupLeaf().kind !== "leaf") throw new Error("metadata lookup found no leaf");

// The example Template rendered for the example Workflow's hardware map and Hardware.
const data = templateData(workflow.spec.hardwareMap as Record<string, string>, hardware as never);
const source = template.spec.data as string;
const rendered = renderTemplate(source, data);
if (!rendered.ok) throw new Error(rendered.error.message);

await runMicro("Boot answers", {
  [`iPXE script for the example Hardware (${script.text.length} B)`]: () => ipxeScript(scriptMachine(host, hardware as never), { mac: host.mac }, settings),
  [`metadata lookup: address -> Hardware (${HOSTS} indexed) -> meta-data/hostname`]: lookupLeaf,
  "metadata tree prepared for a Hardware version (once per change)": () => machineMetadata(someSpec),
  [`template render: ../shared/examples template.yaml (${rendered.value.length} B out)`]: () => renderTemplate(source, data),
});
