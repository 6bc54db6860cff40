/**
 * The fields of Hardware, Template and Workflow (tinkerbell.org/v1alpha1) as data, named exactly
 * as Tinkerbell spells them (COMPAT section 1). Tinkerbell fields Wisp does not act on are listed
 * as `unsupported` so users hear about them instead of guessing.
 */
import type { Field, ObjectSpec, Spec } from "./schema.ts";
import {
  checkAnyNetmask,
  checkIP,
  checkIPv4,
  checkIPv4Cidr,
  checkLabel,
  checkMac,
  checkNetmask,
  checkSubdomain,
  checkVlanId,
  normalizeMac,
  urlCheck,
} from "./values.ts";

const str: Field = { type: "string" };
const bool: Field = { type: "boolean" };
const strings: Field = { type: "list", items: str };
const uint: Field = { type: "integer", min: 0 };
const obj = (fields: Record<string, Field>, hints?: Record<string, string>): ObjectSpec => ({ type: "object", fields, hints });
const list = (items: Spec): Field => ({ type: "list", items });
const ipv4: Field = { type: "string", check: checkIPv4 };
const family: Field = { type: "integer", oneOf: [4, 6] };
/** DHCP option 51 is a 32-bit count of seconds (RFC 2132 9.2). */
const LEASE_TIME_MAX = 0xffff_ffff;

const dhcp = obj(
  {
    mac: { type: "string", check: checkMac, normalize: (s) => normalizeMac(s)! },
    hostname: str,
    domain_name: str,
    lease_time: { type: "integer", min: 0, max: LEASE_TIME_MAX },
    name_servers: list(ipv4),
    time_servers: list(ipv4),
    arch: str,
    uefi: bool,
    iface_name: str,
    ip: obj({ address: ipv4, netmask: { type: "string", check: checkNetmask }, gateway: ipv4, family }),
    vlan_id: { type: "string", check: checkVlanId },
    classless_static_routes: list(
      obj({ destination_descriptor: { type: "string", check: checkIPv4Cidr, required: true }, router: { ...ipv4, required: true } }),
    ),
    tftp_server_name: str,
    boot_file_name: str,
  },
  { macAddress: "mac", mac_address: "mac", dns: "name_servers", nameservers: "name_servers", lease: "lease_time" },
);

const netboot = obj(
  {
    allowPXE: bool,
    allowWorkflow: bool,
    ipxe: obj({ url: { type: "string", check: urlCheck("http", "https", "tftp") }, contents: str, binary: str }),
    osie: obj({ baseURL: { type: "string", check: urlCheck("http", "https") }, kernel: str, initrd: str, kernelParams: strings }),
    pxelinux: { type: "unsupported", note: "PXELINUX boot" },
    rpi: { type: "unsupported", note: "Raspberry Pi boot" },
  },
  { pxe: "allowPXE", workflow: "allowWorkflow" },
);

const iface = obj({
  dhcp,
  netboot,
  disableDhcp: bool,
  isoboot: { type: "unsupported", note: "per-interface ISO boot" },
});

const os = obj({ slug: str, distro: str, version: str, image_tag: str, os_slug: str });

const instanceIp = obj({
  address: { type: "string", check: checkIP },
  netmask: { type: "string", check: checkAnyNetmask },
  gateway: { type: "string", check: checkIP },
  family,
  public: bool,
  management: bool,
});

const storage = obj({
  disks: list(
    obj({
      device: str,
      wipe_table: bool,
      partitions: list(obj({ label: str, number: uint, size: uint, start: uint, type_guid: str })),
    }),
  ),
  raid: list(obj({ name: str, level: str, devices: strings, spare: uint })),
  filesystems: list(
    obj({
      mount: obj({
        device: str,
        format: str,
        point: str,
        files: list(obj({ path: str, contents: str, mode: uint, uid: uint, gid: uint })),
        create: obj({ force: bool, options: strings }),
      }),
    }),
  ),
});

const instance = obj(
  {
    id: str,
    state: str,
    hostname: str,
    allow_pxe: bool,
    rescue: bool,
    operating_system: os,
    always_pxe: bool,
    ipxe_script_url: str,
    ips: list(instanceIp),
    userdata: str,
    crypted_root_password: str,
    tags: strings,
    storage,
    ssh_keys: strings,
    network_ready: bool,
  },
  { ssh_authorized_keys: "ssh_keys", os: "operating_system" },
);

const hardwareMetadata = obj({
  state: str,
  bonding_mode: { type: "integer" },
  manufacturer: obj({ id: str, slug: str }),
  instance,
  custom: obj({ preinstalled_operating_system_version: os, private_subnets: strings }),
  facility: obj({ plan_slug: str, plan_version_slug: str, facility_code: str }),
});

/** Hardware `spec`. */
export const HARDWARE_SPEC = obj(
  {
    interfaces: list(iface),
    disks: list(obj({ device: str })),
    userData: str,
    vendorData: str,
    agentID: str,
    bmcRef: obj({ apiGroup: str, kind: str, name: { type: "string", check: checkSubdomain } }),
    metadata: hardwareMetadata,
    tinkVersion: { type: "integer" },
    auto: { type: "unsupported", note: "auto enrollment" },
    references: { type: "unsupported", note: "template references" },
    resources: { type: "unsupported", note: "resource quantities" },
  },
  { interface: "interfaces", bmc: "bmcRef" },
);

/** Template `spec`: the text is checked once rendered, see workflow/parse.ts. */
export const TEMPLATE_SPEC = obj({ data: { type: "string", required: true } });

const name: Field = { type: "string", check: checkSubdomain };

/** Workflow `spec`. */
export const WORKFLOW_SPEC = obj(
  {
    templateRef: { ...name, required: true },
    hardwareRef: name,
    hardwareMap: { type: "map", values: str },
    disabled: bool,
    bootOptions: obj({
      toggleAllowNetboot: bool,
      // Tinkerbell still accepts its older spelling "iso" for isoboot.
      bootMode: { type: "enum", values: ["netboot", "isoboot", "customboot"], aliases: { iso: "isoboot" } },
      isoURL: { type: "string", check: urlCheck("http", "https") },
      custombootConfig: { type: "unsupported", note: "customboot BMC actions" },
      // Wisp's own: after SUCCESS, persistent disk boot and a power cycle through the Machine's BMC.
      diskBootOnSuccess: bool,
    }),
  },
  { template: "templateRef", hardware: "hardwareRef" },
);

/**
 * `metadata`: what users set is kept; what a Kubernetes server set (a `kubectl get -o yaml`
 * export carries them) is dropped without a word, since Wisp sets its own.
 */
export const OBJECT_META = obj({
  name: { ...name, required: true },
  namespace: { type: "string", check: checkLabel },
  labels: { type: "map", values: str },
  annotations: { type: "map", values: str },
  uid: { type: "dropped" },
  creationTimestamp: { type: "dropped" },
  resourceVersion: { type: "dropped" },
  generation: { type: "dropped" },
  managedFields: { type: "dropped" },
  selfLink: { type: "dropped" },
  deletionTimestamp: { type: "dropped" },
  deletionGracePeriodSeconds: { type: "dropped" },
});
