/**
 * Tinkerbell hands templates its legacy `.Hardware` data as Go structs, so templates written for
 * it use Go field names (`(index .Hardware.Interfaces 0).DHCP.Arch`, `.Hardware.Metadata.Instance.ID`)
 * and see Go's zero values: "" / 0 / false for absent scalars, nil for absent pointers and slices.
 * This builds the same view from the stored JSON spec, driven by a table of the structs' fields.
 */

/** A Go field's type: a scalar with its zero value, a list of strings, or a (pointer to a) struct. */
type GoType =
  | { scalar: string | number | boolean }
  | { strings: true }
  | { struct: GoStruct; pointer: boolean }
  | { slice: GoStruct };

/** JSON name -> [Go name, type], as in Tinkerbell's v1alpha1 API types. */
type GoStruct = { readonly [json: string]: readonly [string, GoType] };

const str: GoType = { scalar: "" };
const int: GoType = { scalar: 0 };
const bool: GoType = { scalar: false };
const strings: GoType = { strings: true };
const ptr = (s: GoStruct): GoType => ({ struct: s, pointer: true });
const slice = (s: GoStruct): GoType => ({ slice: s });

const IP: GoStruct = { address: ["Address", str], netmask: ["Netmask", str], gateway: ["Gateway", str], family: ["Family", int] };
const DHCP: GoStruct = {
  mac: ["MAC", str], hostname: ["Hostname", str], lease_time: ["LeaseTime", int], name_servers: ["NameServers", strings],
  time_servers: ["TimeServers", strings], arch: ["Arch", str], uefi: ["UEFI", bool], iface_name: ["IfaceName", str],
  ip: ["IP", ptr(IP)], vlan_id: ["VLANID", str],
};
const NETBOOT: GoStruct = {
  allowPXE: ["AllowPXE", ptr({})], allowWorkflow: ["AllowWorkflow", ptr({})],
  ipxe: ["IPXE", ptr({ url: ["URL", str], contents: ["Contents", str] })],
  osie: ["OSIE", ptr({ baseURL: ["BaseURL", str], kernel: ["Kernel", str], initrd: ["Initrd", str] })],
};
const INTERFACE: GoStruct = { netboot: ["Netboot", ptr(NETBOOT)], dhcp: ["DHCP", ptr(DHCP)] };
const OS: GoStruct = { slug: ["Slug", str], distro: ["Distro", str], version: ["Version", str], image_tag: ["ImageTag", str], os_slug: ["OsSlug", str] };
const INSTANCE_IP: GoStruct = { ...IP, public: ["Public", bool], management: ["Management", bool] };
const PARTITION: GoStruct = { label: ["Label", str], number: ["Number", int], size: ["Size", int], start: ["Start", int], type_guid: ["TypeGUID", str] };
const FILE: GoStruct = { path: ["Path", str], contents: ["Contents", str], mode: ["Mode", int], uid: ["UID", int], gid: ["GID", int] };
const MOUNT: GoStruct = {
  device: ["Device", str], format: ["Format", str], files: ["Files", slice(FILE)],
  create: ["Create", ptr({ force: ["Force", bool], options: ["Options", strings] })], point: ["Point", str],
};
const STORAGE: GoStruct = {
  disks: ["Disks", slice({ device: ["Device", str], wipe_table: ["WipeTable", bool], partitions: ["Partitions", slice(PARTITION)] })],
  raid: ["Raid", slice({ name: ["Name", str], level: ["Level", str], devices: ["Devices", strings], spare: ["Spare", int] })],
  filesystems: ["Filesystems", slice({ mount: ["Mount", ptr(MOUNT)] })],
};
const INSTANCE: GoStruct = {
  id: ["ID", str], state: ["State", str], hostname: ["Hostname", str], allow_pxe: ["AllowPxe", bool], rescue: ["Rescue", bool],
  operating_system: ["OperatingSystem", ptr(OS)], always_pxe: ["AlwaysPxe", bool], ipxe_script_url: ["IpxeScriptURL", str],
  ips: ["Ips", slice(INSTANCE_IP)], userdata: ["Userdata", str], crypted_root_password: ["CryptedRootPassword", str],
  tags: ["Tags", strings], storage: ["Storage", ptr(STORAGE)], ssh_keys: ["SSHKeys", strings], network_ready: ["NetworkReady", bool],
};
const METADATA: GoStruct = {
  state: ["State", str], bonding_mode: ["BondingMode", int],
  manufacturer: ["Manufacturer", ptr({ id: ["ID", str], slug: ["Slug", str] })],
  instance: ["Instance", ptr(INSTANCE)],
  custom: ["Custom", ptr({ preinstalled_operating_system_version: ["PreinstalledOperatingSystemVersion", ptr(OS)], private_subnets: ["PrivateSubnets", strings] })],
  facility: ["Facility", ptr({ plan_slug: ["PlanSlug", str], plan_version_slug: ["PlanVersionSlug", str], facility_code: ["FacilityCode", str] })],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Converts one JSON value to its Go-shaped view; absent values become Go's zero value. */
function convert(value: unknown, type: GoType): unknown {
  if ("scalar" in type) return value ?? type.scalar;
  if ("strings" in type) return Array.isArray(value) ? value.map(String) : null;
  if ("slice" in type) return Array.isArray(value) ? value.map((v) => (isObject(v) ? structView(v, type.slice) : null)) : null;
  // *bool fields (allowPXE) keep the boolean; Go templates dereference pointers to scalars.
  if (Object.keys(type.struct).length === 0) return typeof value === "boolean" ? value : null;
  if (!isObject(value)) return type.pointer ? null : structView({}, type.struct);
  return structView(value, type.struct);
}

function structView(value: Record<string, unknown>, struct: GoStruct): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [json, [go, type]] of Object.entries(struct)) out[go] = convert(value[json], type);
  return out;
}

/** `[]v1alpha1.Interface` as Go templates see it. */
export function goInterfaces(interfaces: unknown[] | undefined): unknown[] | null {
  return interfaces?.length ? interfaces.map((i) => structView(isObject(i) ? i : {}, INTERFACE)) : null;
}

/** `v1alpha1.HardwareMetadata` (a value, not a pointer) as Go templates see it. */
export function goMetadata(metadata: unknown): Record<string, unknown> {
  return structView(isObject(metadata) ? metadata : {}, METADATA);
}
