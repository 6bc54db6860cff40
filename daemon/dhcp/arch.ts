/**
 * Client system architecture types, option 93 (RFC 4578 2.1; 10 and up from the IANA "Processor
 * Architecture Types" registry). RFC 4578 named 7 "EFI BC" and 9 "EFI x86-64"; IANA later
 * named 7 x64 UEFI and 9 EBC. Firmware sends both 7 and 9 for x64 UEFI, so both boot ipxe.efi.
 */
export const CLIENT_ARCHES = {
  0: "x86 BIOS",
  1: "NEC/PC98",
  2: "Itanium UEFI",
  3: "DEC Alpha",
  4: "Arc x86",
  5: "Intel Lean Client",
  6: "x86 UEFI",
  7: "x64 UEFI",
  8: "EFI Xscale",
  9: "EBC (x64 UEFI in RFC 4578)",
  10: "ARM 32-bit UEFI",
  11: "ARM 64-bit UEFI",
  12: "PowerPC Open Firmware",
  13: "PowerPC ePAPR",
  14: "POWER OPAL v3",
  15: "x86 UEFI HTTP",
  16: "x64 UEFI HTTP",
  17: "EBC UEFI HTTP",
  18: "ARM 32-bit UEFI HTTP",
  19: "ARM 64-bit UEFI HTTP",
  20: "x86 BIOS HTTP",
  21: "ARM 32-bit U-Boot",
  22: "ARM 64-bit U-Boot",
  23: "ARM 32-bit U-Boot HTTP",
  24: "ARM 64-bit U-Boot HTTP",
  25: "RISC-V 32-bit UEFI",
  26: "RISC-V 32-bit UEFI HTTP",
  27: "RISC-V 64-bit UEFI",
  28: "RISC-V 64-bit UEFI HTTP",
  29: "RISC-V 128-bit UEFI",
  30: "RISC-V 128-bit UEFI HTTP",
  31: "s390 Basic",
  32: "s390 Extended",
  33: "MIPS 32-bit UEFI",
  34: "MIPS 64-bit UEFI",
  35: "Sunway 32-bit UEFI",
  36: "Sunway 64-bit UEFI",
  37: "LoongArch 32-bit UEFI",
  38: "LoongArch 32-bit UEFI HTTP",
  39: "LoongArch 64-bit UEFI",
  40: "LoongArch 64-bit UEFI HTTP",
  41: "ARM rpiboot",
} as const satisfies Record<number, string>;

/** The registry name of an option 93 architecture type, or undefined if unassigned. */
export function archName(arch: number): string | undefined {
  return (CLIENT_ARCHES as Record<number, string>)[arch];
}
