/**
 * What a machine reads about itself once installed, built from its Hardware spec: the EC2
 * instance-metadata tree (`meta-data/`, `user-data`, `vendor-data` under a version), the
 * NoCloud-net seed (`meta-data` as YAML, `user-data`, `vendor-data`) and the `/metadata` JSON
 * of Tinkerbell's hegel. Built once per Hardware version, then paths are walked. Pure.
 */
import type { HardwareSpec, Instance, InstanceIP } from "../manifest/types.ts";

/** A leaf: its body, sent byte for byte. */
export interface MetadataLeaf {
  kind: "leaf";
  body: Uint8Array;
}

/** A directory: its children by name and its listing (one child a line, directories with a `/`). */
export interface MetadataDir {
  kind: "dir";
  children: ReadonlyMap<string, MetadataNode>;
  listing: Uint8Array;
}

/** A node of a metadata tree. */
export type MetadataNode = MetadataLeaf | MetadataDir;

/** Everything one machine may read, prepared from its spec. */
export interface MachineMetadata {
  /** `metadata.instance.id` ("" when unset): selects the machine under the instance-id prefix. */
  instanceId: string;
  /** The EC2 version root (`/2009-04-04/`, `/latest/`): `meta-data/`, and `user-data`, `vendor-data` when set. */
  ec2: MetadataDir;
  /** The NoCloud-net seed: `meta-data`, `user-data`, `vendor-data`, always present (cloud-init needs the first two). */
  nocloud: MetadataDir;
  /** `GET /metadata`: `{"metadata":{"instance":{...}}}`, the instance as stored. */
  json: Uint8Array;
}

/** The outcome of walking a path. */
export type PathResult = { kind: "leaf" | "listing"; body: Uint8Array } | { kind: "not-found" };

/** Meta-data leaves every machine has (empty when the Hardware does not say), as Tinkerbell lists them. */
export const META_DATA_LEAVES = [
  "facility", "hostname", "instance-id", "iqn", "local-hostname", "local-ipv4", "plan", "public-ipv4", "public-ipv6", "tags",
] as const;

/** The `operating-system/` leaves, from `metadata.instance.operating_system`. */
export const OPERATING_SYSTEM_LEAVES = ["distro", "image_tag", "slug", "version"] as const;

/** An SSH key served under `public-keys/`: EC2 lists `<index>=<name>`, the key is at `<index>/openssh-key`. */
export interface PublicKey {
  name: string;
  key: string;
}

const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const leaf = (text: string): MetadataLeaf => ({ kind: "leaf", body: bytes(text) });

/** A directory whose listing names its children in order, directories with a trailing `/`. */
function dir(entries: [string, MetadataNode][], listing?: string[]): MetadataDir {
  const names = listing ?? entries.map(([name, node]) => (node.kind === "dir" ? `${name}/` : name));
  return { kind: "dir", children: new Map(entries), listing: bytes(names.join("\n")) };
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

/** The user-data: `spec.userData`, else the legacy `metadata.instance.userdata`; undefined when neither is a string. */
export function userDataOf(spec: HardwareSpec): string | undefined {
  if (typeof spec.userData === "string") return spec.userData;
  const legacy = spec.metadata?.instance?.userdata;
  return typeof legacy === "string" ? legacy : undefined;
}

/** The hostname: `metadata.instance.hostname`, else the first interface's `dhcp.hostname`. */
export function hostnameOf(spec: HardwareSpec): string {
  const own = text(spec.metadata?.instance?.hostname);
  if (own !== "") return own;
  for (const iface of spec.interfaces ?? []) if (text(iface?.dhcp?.hostname) !== "") return iface.dhcp!.hostname!;
  return "";
}

const familyOf = (ip: InstanceIP): number => (ip.family === 4 || ip.family === 6 ? ip.family : text(ip.address).includes(":") ? 6 : 4);

/** EC2's three address leaves from `metadata.instance.ips` (each the first that fits); local-ipv4 falls back to the first interface address. */
export function addressesOf(spec: HardwareSpec): { localIpv4: string; publicIpv4: string; publicIpv6: string } {
  const ips = (spec.metadata?.instance?.ips ?? []).filter((ip): ip is InstanceIP => typeof ip?.address === "string" && ip.address !== "");
  const first = (pick: (ip: InstanceIP) => boolean): string => ips.find(pick)?.address ?? "";
  let localIpv4 = first((ip) => familyOf(ip) === 4 && ip.public !== true);
  if (localIpv4 === "") {
    for (const iface of spec.interfaces ?? []) if (localIpv4 === "" && text(iface?.dhcp?.ip?.address) !== "") localIpv4 = iface.dhcp!.ip!.address!;
  }
  return { localIpv4, publicIpv4: first((ip) => familyOf(ip) === 4 && ip.public === true), publicIpv6: first((ip) => familyOf(ip) === 6) };
}

// A name from the key's comment when it is a plain token; cloud-init keys its map by name, so names are unique.
const KEY_NAME = /^[A-Za-z0-9._@+-]{1,64}$/;
const KEY_TYPE = /^(ssh-|ecdsa-|sk-)/;

/**
 * `metadata.instance.ssh_keys` as EC2 key pairs: one key a line (an entry holding several lines
 * gives several keys), empty lines dropped; each named by its comment, else `key-<index>`.
 */
export function publicKeysOf(instance: Instance | undefined): PublicKey[] {
  const keys: PublicKey[] = [];
  const taken = new Set<string>();
  for (const entry of instance?.ssh_keys ?? []) {
    if (typeof entry !== "string") continue;
    for (const line of entry.split(/\r?\n/)) {
      const key = line.trim();
      if (key === "") continue;
      const fields = key.split(/\s+/);
      const type = fields.findIndex((f) => KEY_TYPE.test(f));
      const comment = type >= 0 ? fields.slice(type + 2).join(" ") : "";
      let name = KEY_NAME.test(comment) ? comment : `key-${keys.length}`;
      if (taken.has(name)) name = `${name}-${keys.length}`;
      taken.add(name);
      keys.push({ name, key });
    }
  }
  return keys;
}

/** The `meta-data/` directory. */
function metaData(spec: HardwareSpec): MetadataDir {
  const instance = spec.metadata?.instance;
  const os = instance?.operating_system;
  const hostname = hostnameOf(spec);
  const { localIpv4, publicIpv4, publicIpv6 } = addressesOf(spec);
  const tags = (instance?.tags ?? []).filter((t): t is string => typeof t === "string");
  const leaves: Record<(typeof META_DATA_LEAVES)[number], string> = {
    facility: text(spec.metadata?.facility?.facility_code),
    hostname,
    "instance-id": text(instance?.id),
    // Equinix Metal's field; Tinkerbell lists it, and the Hardware CRD has no such field: kept when written.
    iqn: text((instance as { iqn?: unknown } | undefined)?.iqn),
    "local-hostname": hostname,
    "local-ipv4": localIpv4,
    plan: text(spec.metadata?.facility?.plan_slug),
    "public-ipv4": publicIpv4,
    "public-ipv6": publicIpv6,
    tags: tags.join("\n"),
  };
  const keys = publicKeysOf(instance);
  const publicKeys = dir(
    keys.map((k, i) => [String(i), dir([["openssh-key", leaf(k.key)]])]),
    keys.map((k, i) => `${i}=${k.name}`),
  );
  const operatingSystem = dir(OPERATING_SYSTEM_LEAVES.map((name) => [name, leaf(text(os?.[name]))]));
  const entries: [string, MetadataNode][] = META_DATA_LEAVES.map((name) => [name, leaf(leaves[name])]);
  entries.push(["operating-system", operatingSystem], ["public-keys", publicKeys]);
  entries.sort(([a], [b]) => (a < b ? -1 : 1));
  return dir(entries);
}

/**
 * YAML double-quoted scalar, all ASCII: PyYAML refuses some characters in a stream (C1
 * controls, U+FFFE), so everything past `~` is written as an escape (YAML 1.1 5.7).
 */
export function yamlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\uFFFD"; // a lone surrogate has no UTF-8 form
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return out + '"';
}

/** The NoCloud `meta-data` document: instance-id, local-hostname and public-keys, each when set. */
export function nocloudMetaData(spec: HardwareSpec): string {
  const lines: string[] = [];
  const id = text(spec.metadata?.instance?.id);
  const hostname = hostnameOf(spec);
  if (id !== "") lines.push(`instance-id: ${yamlString(id)}`);
  if (hostname !== "") lines.push(`local-hostname: ${yamlString(hostname)}`);
  const keys = publicKeysOf(spec.metadata?.instance);
  if (keys.length > 0) lines.push("public-keys:", ...keys.map((k) => `  - ${yamlString(k.key)}`));
  return lines.length === 0 ? "{}\n" : lines.join("\n") + "\n";
}

/** Prepares everything one machine may read. */
export function machineMetadata(spec: HardwareSpec): MachineMetadata {
  const userData = userDataOf(spec);
  const vendorData = typeof spec.vendorData === "string" ? spec.vendorData : undefined;
  const root: [string, MetadataNode][] = [["meta-data", metaData(spec)]];
  if (userData !== undefined) root.push(["user-data", leaf(userData)]);
  if (vendorData !== undefined) root.push(["vendor-data", leaf(vendorData)]);
  const nocloud = dir([
    ["meta-data", leaf(nocloudMetaData(spec))],
    ["user-data", leaf(userData ?? "")],
    ["vendor-data", leaf(vendorData ?? "")],
  ]);
  const instance = spec.metadata?.instance ?? {};
  return { instanceId: text(spec.metadata?.instance?.id), ec2: dir(root), nocloud, json: bytes(JSON.stringify({ metadata: { instance } })) };
}

/**
 * Walks `path` (below a tree's root, percent-escapes as sent) from `root`. A trailing slash is
 * accepted on directories and leaves alike, as Tinkerbell does; an empty segment elsewhere, or
 * an escape that does not decode, is not found.
 */
export function resolvePath(root: MetadataDir, path: string): PathResult {
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  let node: MetadataNode = root;
  if (trimmed !== "") {
    for (const raw of trimmed.split("/")) {
      let name: string;
      try {
        name = decodeURIComponent(raw);
      } catch {
        return { kind: "not-found" };
      }
      const next: MetadataNode | undefined = node.kind === "dir" ? node.children.get(name) : undefined;
      if (next === undefined) return { kind: "not-found" };
      node = next;
    }
  }
  return node.kind === "dir" ? { kind: "listing", body: node.listing } : { kind: "leaf", body: node.body };
}
