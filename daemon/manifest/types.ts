/**
 * Tinkerbell manifest shapes (apiVersion tinkerbell.org/v1alpha1), field names exactly as users
 * write them (see shared/COMPAT.md section 1). Optional everywhere Tinkerbell is. The field
 * tables in fields.ts check the same names; Tinkerbell fields Wisp does not act on yet (pxelinux,
 * rpi, isoboot, auto, references, resources, custombootConfig) are kept untyped.
 */

export const API_VERSION = "tinkerbell.org/v1alpha1";
export const DEFAULT_NAMESPACE = "default";

/** apiVersion of Tinkerbell's BMC kinds (Rufio): Machine, Job, Task. */
export const BMC_API_VERSION = "bmc.tinkerbell.org/v1alpha1";
/** apiVersion of Kubernetes' Secret, which holds a Machine's BMC credentials. */
export const SECRET_API_VERSION = "v1";

/** The kinds Wisp stores. */
export type Kind = "Hardware" | "Template" | "Workflow" | "Machine" | "Job" | "Secret";

/** The apiVersion each kind is written with. */
export const KIND_API_VERSION: Readonly<Record<Kind, string>> = {
  Hardware: API_VERSION,
  Template: API_VERSION,
  Workflow: API_VERSION,
  Machine: BMC_API_VERSION,
  Job: BMC_API_VERSION,
  Secret: SECRET_API_VERSION,
};

/** Object metadata as stored: namespace filled in, server-set Kubernetes fields dropped. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface IPConfig {
  address?: string;
  netmask?: string;
  gateway?: string;
  family?: number;
}

export interface ClasslessStaticRoute {
  destination_descriptor: string;
  router: string;
}

export interface DHCPConfig {
  /** Lower-case colon form after parsing. */
  mac?: string;
  hostname?: string;
  domain_name?: string;
  lease_time?: number;
  name_servers?: string[];
  time_servers?: string[];
  arch?: string;
  uefi?: boolean;
  iface_name?: string;
  ip?: IPConfig;
  vlan_id?: string;
  classless_static_routes?: ClasslessStaticRoute[];
  tftp_server_name?: string;
  boot_file_name?: string;
}

export interface IPXEConfig {
  url?: string;
  contents?: string;
  binary?: string;
}

export interface OSIEConfig {
  baseURL?: string;
  kernel?: string;
  initrd?: string;
  kernelParams?: string[];
}

export interface NetbootConfig {
  allowPXE?: boolean;
  allowWorkflow?: boolean;
  ipxe?: IPXEConfig;
  osie?: OSIEConfig;
}

export interface HardwareInterface {
  dhcp?: DHCPConfig;
  netboot?: NetbootConfig;
  disableDhcp?: boolean;
}

export interface InstanceIP {
  address?: string;
  netmask?: string;
  gateway?: string;
  family?: number;
  public?: boolean;
  management?: boolean;
}

export interface OperatingSystem {
  slug?: string;
  distro?: string;
  version?: string;
  image_tag?: string;
  os_slug?: string;
}

export interface Partition {
  label?: string;
  number?: number;
  size?: number;
  start?: number;
  type_guid?: string;
}

export interface StorageDisk {
  device?: string;
  wipe_table?: boolean;
  partitions?: Partition[];
}

export interface StorageFile {
  path?: string;
  contents?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface Filesystem {
  mount?: {
    device?: string;
    format?: string;
    point?: string;
    files?: StorageFile[];
    create?: { force?: boolean; options?: string[] };
  };
}

export interface Raid {
  name?: string;
  level?: string;
  devices?: string[];
  spare?: number;
}

export interface Instance {
  id?: string;
  state?: string;
  hostname?: string;
  allow_pxe?: boolean;
  rescue?: boolean;
  always_pxe?: boolean;
  ipxe_script_url?: string;
  crypted_root_password?: string;
  network_ready?: boolean;
  operating_system?: OperatingSystem;
  ips?: InstanceIP[];
  userdata?: string;
  ssh_keys?: string[];
  tags?: string[];
  storage?: { disks?: StorageDisk[]; raid?: Raid[]; filesystems?: Filesystem[] };
}

export interface HardwareMetadata {
  state?: string;
  bonding_mode?: number;
  manufacturer?: { id?: string; slug?: string };
  facility?: { plan_slug?: string; plan_version_slug?: string; facility_code?: string };
  instance?: Instance;
  custom?: { preinstalled_operating_system_version?: OperatingSystem; private_subnets?: string[] };
}

export interface HardwareSpec {
  interfaces?: HardwareInterface[];
  disks?: { device?: string }[];
  userData?: string;
  vendorData?: string;
  agentID?: string;
  bmcRef?: { apiGroup?: string; kind?: string; name?: string };
  metadata?: HardwareMetadata;
  tinkVersion?: number;
}

export interface TemplateSpec {
  /** The template text: YAML once rendered with Go text/template. */
  data?: string;
}

export type BootMode = "netboot" | "isoboot" | "customboot";

export interface BootOptions {
  toggleAllowNetboot?: boolean;
  bootMode?: BootMode;
  isoURL?: string;
  /** Wisp: after SUCCESS, set the Machine's boot device to disk (persistent) and power-cycle it. */
  diskBootOnSuccess?: boolean;
}

export interface WorkflowSpec {
  templateRef?: string;
  hardwareRef?: string;
  hardwareMap?: Record<string, string>;
  disabled?: boolean;
  bootOptions?: BootOptions;
}

interface Base<K extends Kind, S> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

/** A reference to an object by name and namespace (Rufio's SecretReference, MachineRef). */
export interface ObjectRef {
  name?: string;
  namespace?: string;
}

/** Machine `spec.connection` (Rufio): where the BMC is and how to log in. */
export interface MachineConnection {
  host?: string;
  port?: number;
  authSecretRef?: ObjectRef;
  insecureTLS?: boolean;
  providerOptions?: {
    /** Normalised to Wisp's provider names (Rufio's `gofish` is `redfish`). */
    preferredOrder?: ("ipmitool" | "redfish")[];
    ipmitool?: { port?: number; cipherSuite?: string };
    redfish?: { port?: number; useBasicAuth?: boolean; systemName?: string };
  };
}

export interface MachineSpec {
  connection?: MachineConnection;
}

export type JobPowerAction = "on" | "off" | "soft" | "cycle" | "reset" | "status";
export type JobBootDevice = "pxe" | "disk" | "bios" | "cdrom";

/** One step of a Job (Rufio's Action: exactly one of the three actions; Wisp adds the rest). */
export interface JobTask {
  powerAction?: JobPowerAction;
  oneTimeBootDeviceAction?: { device?: JobBootDevice[]; efiBootMode?: boolean };
  virtualMediaAction?: { mediaURL?: string; kind?: string };
  /** Wisp: a boot device that stays set (Rufio has only the one-time action). */
  bootDeviceAction?: { device?: JobBootDevice; efiBootMode?: boolean; persistent?: boolean };
  /** Wisp: seconds one attempt of this step may take (default 60). */
  timeout?: number;
  /** Wisp: attempts after the first when the step fails or times out (default 2). */
  retries?: number;
}

export interface JobSpec {
  machineRef?: ObjectRef;
  tasks?: JobTask[];
}

/** A Secret's checked values: `data` holds them decoded (`stringData` merged over base64 `data`). */
export interface SecretSpec {
  type?: string;
  data: Record<string, string>;
}

export type Hardware = Base<"Hardware", HardwareSpec>;
export type Template = Base<"Template", TemplateSpec>;
export type Workflow = Base<"Workflow", WorkflowSpec>;
export type Machine = Base<"Machine", MachineSpec>;
export type Job = Base<"Job", JobSpec>;
/**
 * A v1 Secret once checked: every value decoded into `stringData` (base64 `data` included), so
 * that checking it again gives the same object.
 */
export interface Secret {
  apiVersion: string;
  kind: "Secret";
  metadata: ObjectMeta;
  type?: string;
  stringData: Record<string, string>;
}
/** Any manifest object Wisp accepts. */
export type Manifest = Hardware | Template | Workflow | Machine | Job | Secret;
