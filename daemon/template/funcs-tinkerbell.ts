/**
 * Tinkerbell's own template functions: formatPartition and netmaskToPrefixLength.
 */
import { FuncError } from "./errors.ts";
import type { FuncSpec } from "./func-spec.ts";
import { fn } from "./func-spec.ts";

/**
 * The device path of partition `n`: `/dev/disk/...` paths take `-partN`, names ending in a
 * digit take `pN` (`/dev/nvme0n1` -> `/dev/nvme0n1p1`), others just `N` (`/dev/sda` -> `/dev/sda2`).
 */
export function formatPartition(dev: string, n: number): string {
  if (dev.startsWith("/dev/disk/")) return `${dev}-part${n}`;
  return /[0-9]$/.test(dev) ? `${dev}p${n}` : `${dev}${n}`;
}

/**
 * The prefix length of a dotted IPv4 netmask, as text like Tinkerbell's ("24"). Beyond
 * Tinkerbell, which answers "0", a non-contiguous mask such as 255.0.255.0 is an error.
 */
export function netmaskToPrefixLength(netmask: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(netmask);
  const octets = m ? m.slice(1).map((o) => (o.length > 1 && o.startsWith("0") ? 256 : Number(o))) : [];
  if (!m || octets.some((o) => o > 255)) {
    if (netmask.includes(":") && /^[0-9A-Fa-f:.]+$/.test(netmask)) throw new FuncError(`netmask must be IPv4: ${netmask}`);
    throw new FuncError(`invalid netmask format: ${netmask}`);
  }
  const bits = octets.map((o) => o.toString(2).padStart(8, "0")).join("");
  if (!/^1*0*$/.test(bits)) throw new FuncError(`netmask is not contiguous: ${netmask}`);
  return String(bits.indexOf("0") < 0 ? 32 : bits.indexOf("0"));
}

/** Tinkerbell's functions. */
export const TINKERBELL_FUNCS: Record<string, FuncSpec> = {
  formatPartition: fn(["string", "int"], formatPartition),
  netmaskToPrefixLength: fn(["string"], netmaskToPrefixLength),
};
