/**
 * The "newc" cpio format the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst), written entry by entry to a sink
 * so a 300 MB image never has to sit in memory twice. Pure apart from the sink it is given.
 */

/** One archive member: a directory, a regular file, a symlink or a character device. */
export type CpioEntry =
  | { kind: "dir"; path: string; mode?: number }
  | { kind: "file"; path: string; data: Uint8Array; mode?: number }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "chardev"; path: string; major: number; minor: number; mode?: number };

/** Where archive bytes go (a Bun FileSink, or an array in tests). */
export interface ByteSink {
  write(chunk: Uint8Array): unknown;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const NEWC_MAGIC = "070701";
const TRAILER = "TRAILER!!!";
// newc header: magic + 13 eight-digit hex fields.
const HEADER_LENGTH = 6 + 13 * 8;
const ZERO_PAD = new Uint8Array(4);

/** Writes newc entries to `sink`; finish() appends the trailer and returns the archive's length. */
export function cpioWriter(sink: ByteSink): { add(entry: CpioEntry): void; finish(): number } {
  const enc = new TextEncoder();
  let ino = 0;
  let size = 0;
  const put = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    sink.write(bytes);
    size += bytes.length;
  };
  // Header and name are padded to 4 bytes together, and so is the data.
  const pad = () => {
    const n = (4 - (size % 4)) % 4;
    if (n) put(ZERO_PAD.subarray(0, n));
  };
  const member = (name: string, mode: number, data: Uint8Array, rdev: [number, number] = [0, 0]) => {
    const nameBytes = enc.encode(`${name}\0`);
    const nlink = (mode & 0o170000) === S_IFDIR ? 2 : 1;
    // ino, mode, uid, gid, nlink, mtime (0: reproducible), filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    const fields = [++ino, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
    const header = enc.encode(NEWC_MAGIC + fields.map((n) => n.toString(16).padStart(8, "0")).join(""));
    if (header.length !== HEADER_LENGTH) throw new Error(`cpio: header field out of range for ${name}`);
    put(header);
    put(nameBytes);
    pad();
    put(data);
    pad();
  };
  return {
    add(e) {
      const name = e.path.replace(/^\/+/, "");
      if (name === "" || name.includes("\0")) throw new Error(`cpio: bad path ${JSON.stringify(e.path)}`);
      if (e.kind === "dir") member(name, S_IFDIR | (e.mode ?? 0o755), new Uint8Array());
      else if (e.kind === "file") member(name, S_IFREG | (e.mode ?? 0o644), e.data);
      else if (e.kind === "symlink") member(name, S_IFLNK | 0o777, enc.encode(e.target));
      else member(name, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(), [e.major, e.minor]);
    },
    finish() {
      member(TRAILER, 0, new Uint8Array());
      return size;
    },
  };
}

/** The whole archive of `entries` in memory (small initramfs images; the Hook's own streams to a file). */
export function cpioArchive(entries: Iterable<CpioEntry>): Uint8Array<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  const writer = cpioWriter({ write: (c) => chunks.push(c.slice()) });
  for (const e of entries) writer.add(e);
  const out = new Uint8Array(writer.finish());
  let off = 0;
  for (const c of chunks) (out.set(c, off), (off += c.length));
  return out;
}
