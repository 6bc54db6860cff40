/** A "newc" cpio archive, the format the kernel unpacks as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst). */

export interface CpioEntry {
  /** Path without a leading slash. */
  name: string;
  /** Type and permission bits (0o100755 a file, 0o40755 a directory, 0o120777 a symlink whose data is its target, 0o20600 a character device). */
  mode: number;
  data?: Uint8Array;
  /** Major and minor of a device node. */
  rdev?: [number, number];
}

/** The archive of `entries` (owner root, mtime 0: the same input gives the same bytes). */
export function cpioNewc(entries: CpioEntry[]): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let size = 0;
  // Header plus name, and the data, are each padded to 4 bytes.
  const push = (b: Uint8Array) => {
    parts.push(b);
    size += b.length;
    const pad = (4 - (size % 4)) % 4;
    if (pad) (parts.push(new Uint8Array(pad)), (size += pad));
  };
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  [...entries, { name: "TRAILER!!!", mode: 0 }].forEach((e: CpioEntry, i) => {
    const data = e.data ?? new Uint8Array();
    const name = enc.encode(`${e.name}\0`);
    // c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_devmajor c_devminor c_rdevmajor c_rdevminor c_namesize c_check
    const fields = [i + 1, e.mode, 0, 0, e.mode >> 12 === 0o4 ? 2 : 1, 0, data.length, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0];
    const header = enc.encode(`070701${fields.map(hex).join("")}`);
    const head = new Uint8Array(header.length + name.length);
    head.set(header);
    head.set(name, header.length);
    push(head);
    if (data.length) push(data);
  });
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) (out.set(p, off), (off += p.length));
  return out;
}
