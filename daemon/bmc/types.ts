import type { Result } from "../lib/result.ts";
export type PowerAction = "on" | "off" | "soft" | "cycle" | "reset";
export type PowerState = "on" | "off" | "unknown";
export type BootDevice = "pxe" | "disk" | "bios" | "cdrom";
export type BmcProvider = "ipmitool" | "redfish";
/** Where and how to reach one BMC. Credentials are never logged or put in an error message. */
export interface BmcTarget {
  host: string;
  username: string;
  password: string;
  /** Tinkerbell's providerOptions (COMPAT 7): preferredOrder, ipmitool.{port,cipherSuite}, redfish.{port,useBasicAuth?,insecureTLS?}. */
  options?: {
    preferredOrder?: BmcProvider[];
    ipmitool?: { port?: number; cipherSuite?: string };
    redfish?: { port?: number; useBasicAuth?: boolean; systemName?: string };
  };
  /** Per-call bound (default 30 s). */
  timeoutMs?: number;
  /** Accept a self-signed certificate (BMCs nearly always have one; default true, as Rufio). */
  insecureTls?: boolean;
}
/** A failure the operator can act on: which BMC, which step, why (never the password). */
export interface BmcError {
  code: "unreachable" | "timeout" | "auth" | "unsupported" | "refused" | "protocol";
  message: string;
  provider?: BmcProvider;
}
export interface BmcDriver {
  readonly provider: BmcProvider;
  powerState(): Promise<Result<PowerState, BmcError>>;
  power(action: PowerAction): Promise<Result<void, BmcError>>;
  setBootDevice(device: BootDevice, opts: { efi: boolean; persistent: boolean }): Promise<Result<void, BmcError>>;
  insertMedia(imageUrl: string): Promise<Result<void, BmcError>>;
  ejectMedia(): Promise<Result<void, BmcError>>;
  close(): Promise<void>;
}
/** Opens a driver by preferredOrder (default: redfish then ipmitool), probing each until one answers. */
export type OpenBmc = (target: BmcTarget) => Promise<Result<BmcDriver, BmcError>>;
