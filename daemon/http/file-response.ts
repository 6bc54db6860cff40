/**
 * HTTP responses for files on disk (boot artifacts, iPXE binaries): content type by name,
 * validators (ETag from size, mtime and inode; Last-Modified), conditional requests (RFC 9110
 * section 13) and byte ranges (RFC 9110 section 14). Bodies are `Bun.file` (slices), which
 * Bun sends with sendfile(2). The parsing and the decision are pure; only fileResponse builds
 * a Response.
 */

/** Content types by file-name ending; anything else is `application/octet-stream` (kernels, initrds, images). */
export const CONTENT_TYPES = {
  ".ipxe": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".cfg": "text/plain; charset=utf-8",
  ".conf": "text/plain; charset=utf-8",
  ".sh": "text/plain; charset=utf-8",
  ".yaml": "text/plain; charset=utf-8",
  ".yml": "text/plain; charset=utf-8",
  ".sha256": "text/plain; charset=utf-8",
  ".sha512": "text/plain; charset=utf-8",
  ".sha256sum": "text/plain; charset=utf-8",
  ".md5": "text/plain; charset=utf-8",
  ".json": "application/json",
  ".iso": "application/x-iso9660-image",
} as const satisfies Record<string, string>;

/** The default content type: raw bytes (kernels, initrds, disk images, iPXE binaries). */
export const OCTET_STREAM = "application/octet-stream";

/** The content type for a file name. */
export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot < 0 || dot < name.lastIndexOf("/")) return OCTET_STREAM;
  return (CONTENT_TYPES as Record<string, string>)[name.slice(dot).toLowerCase()] ?? OCTET_STREAM;
}

/** What a validator is computed from. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** A strong ETag: the same file (inode) with the same size and mtime has the same bytes. */
export function entityTag(st: FileStat): string {
  return `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}-${st.ino.toString(16)}"`;
}

/** Last-Modified: the mtime in HTTP date form (whole seconds). */
export function lastModified(st: FileStat): string {
  return new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
}

/** The answer to a Range header for a representation of `size` bytes. */
export type RangeDecision =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

/**
 * RFC 9110 14.1.2 and 14.2: one `bytes=a-b`, `a-` or `-n` range. A header that does not parse is
 * ignored (the whole file); more than one range is answered with the whole file too, which the
 * RFC allows and which saves multipart/byteranges bodies no boot client asks for.
 */
export function decideRange(header: string | null, size: number): RangeDecision {
  if (header === null) return { kind: "full" };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: "full" };
  const specs = m[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length !== 1) return { kind: "full" };
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!spec || (spec[1] === "" && spec[2] === "")) return { kind: "full" };
  if (spec[1] === "") {
    const suffix = Number(spec[2]);
    // A suffix of 0, or any suffix of an empty file, selects nothing.
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  if (spec[2] !== "" && Number(spec[2]) < start) return { kind: "full" }; // invalid: ignored (14.1.1)
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", start, end: spec[2] === "" ? size - 1 : Math.min(Number(spec[2]), size - 1) };
}

// RFC 9110 8.8.3.2: weak comparison for If-None-Match, strong for If-Range.
const opaque = (tag: string): string => (tag.startsWith("W/") ? tag.slice(2) : tag);

/** RFC 9110 13.1.2 and 13.1.3: whether a GET or HEAD is answered 304 Not Modified. */
export function notModified(headers: Headers, etag: string, mtimeMs: number): boolean {
  const inm = headers.get("if-none-match");
  if (inm !== null) {
    if (inm.trim() === "*") return true;
    return inm.split(",").some((t) => opaque(t.trim()) === opaque(etag));
  }
  const ims = headers.get("if-modified-since");
  if (ims === null) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/** RFC 9110 13.1.5: whether the Range header still applies (If-Range absent, or naming this version). */
export function rangeStillApplies(headers: Headers, etag: string, modified: string): boolean {
  const ifRange = headers.get("if-range");
  if (ifRange === null) return true;
  const v = ifRange.trim();
  if (v.startsWith('"')) return v === etag;
  if (v.startsWith("W/")) return false; // a weak tag never matches strongly
  return v === modified;
}

/** A file to send: its real path (already resolved inside its directory) and stat. */
export interface SendableFile extends FileStat {
  path: string;
}

/** The response, its status and how many body bytes it carries (for metrics). */
export interface FileReply {
  response: Response;
  status: number;
  bytes: number;
}

/** The response to a GET or HEAD of `file`: 200, 206, 304 or 416. */
export function fileResponse(method: string, headers: Headers, file: SendableFile, contentType: string): FileReply {
  const etag = entityTag(file);
  const modified = lastModified(file);
  const common: Record<string, string> = { etag, "last-modified": modified, "cache-control": "no-cache" };
  if (notModified(headers, etag, file.mtimeMs)) return { response: new Response(null, { status: 304, headers: common }), status: 304, bytes: 0 };
  const head = method === "HEAD";
  // Range applies to GET only (RFC 9110 14.2).
  const range = head || !rangeStillApplies(headers, etag, modified) ? { kind: "full" as const } : decideRange(headers.get("range"), file.size);
  if (range.kind === "unsatisfiable") {
    const h = { ...common, "content-range": `bytes */${file.size}`, "accept-ranges": "bytes" };
    return { response: new Response(null, { status: 416, headers: h }), status: 416, bytes: 0 };
  }
  const body = Bun.file(file.path, { type: contentType });
  if (range.kind === "partial") {
    const length = range.end - range.start + 1;
    const h = { ...common, "content-type": contentType, "content-range": `bytes ${range.start}-${range.end}/${file.size}`, "accept-ranges": "bytes" };
    return { response: new Response(body.slice(range.start, range.end + 1), { status: 206, headers: h }), status: 206, bytes: head ? 0 : length };
  }
  // Bun would range a whole-file body by itself when the request has a Range header; a Range
  // we chose to ignore (several ranges, If-Range of another version, HEAD) gets a slice of the
  // whole file, which Bun sends as it is.
  const whole = headers.has("range") ? body.slice(0, file.size) : body;
  const h = { ...common, "content-type": contentType, "accept-ranges": "bytes", "content-length": String(file.size) };
  return { response: new Response(whole, { status: 200, headers: h }), status: 200, bytes: head ? 0 : file.size };
}
