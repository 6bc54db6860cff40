/**
 * The pure parts of the boot file routes: Range decisions (RFC 9110 14), conditional requests
 * (13.1), content types, path checks before the file source, and the client address behind
 * trusted proxies.
 */
import { describe, expect, test } from "bun:test";
import { checkBootPath, type PathRefusal } from "../../daemon/http/boot-routes.ts";
import { clientAddress, inCidrs, parseCidr, type Cidr } from "../../daemon/http/client-address.ts";
import { contentTypeOf, decideRange, entityTag, lastModified, notModified, OCTET_STREAM, rangeStillApplies } from "../../daemon/http/file-response.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";

describe("decideRange", () => {
  const size = 1000;
  const cases: [string | null, ReturnType<typeof decideRange>][] = [
    [null, { kind: "full" }],
    ["bytes=0-99", { kind: "partial", start: 0, end: 99 }],
    ["bytes=500-", { kind: "partial", start: 500, end: 999 }],
    ["bytes=-100", { kind: "partial", start: 900, end: 999 }],
    ["bytes=-5000", { kind: "partial", start: 0, end: 999 }],
    ["bytes=990-5000", { kind: "partial", start: 990, end: 999 }],
    ["BYTES = 1-1", { kind: "partial", start: 1, end: 1 }],
    ["bytes=999-", { kind: "partial", start: 999, end: 999 }],
    ["bytes=1000-", { kind: "unsatisfiable" }],
    ["bytes=1000-2000", { kind: "unsatisfiable" }],
    ["bytes=-0", { kind: "unsatisfiable" }],
    ["bytes=0-1,5-6", { kind: "full" }], // several ranges: the whole file (documented)
    ["bytes=5-2", { kind: "full" }], // invalid: ignored
    ["bytes=-", { kind: "full" }],
    ["bytes=abc", { kind: "full" }],
    ["items=0-1", { kind: "full" }],
  ];
  for (const [header, expected] of cases) test(String(header), () => expect(decideRange(header, size)).toEqual(expected));
  test("an empty file satisfies no range", () => {
    expect(decideRange("bytes=0-", 0)).toEqual({ kind: "unsatisfiable" });
    expect(decideRange("bytes=-1", 0)).toEqual({ kind: "unsatisfiable" });
  });
});

describe("validators and conditional requests", () => {
  const st = { size: 74213, mtimeMs: 1_612_718_750_123.4, ino: 42 };
  const etag = entityTag(st);
  const h = (init: Record<string, string>) => new Headers(init);

  test("ETag from size, mtime and inode; Last-Modified in whole seconds", () => {
    expect(etag).toBe('"121e5-1777d8739ab-2a"'); // 74213, 1612718750123 ms, inode 42 in hex
    expect(entityTag({ ...st, ino: 43 })).not.toBe(etag);
    expect(lastModified(st)).toBe("Sun, 07 Feb 2021 17:25:50 GMT");
  });

  test("If-None-Match: listed, weak or * -> not modified; another tag -> modified", () => {
    expect(notModified(h({ "if-none-match": etag }), etag, st.mtimeMs)).toBe(true);
    expect(notModified(h({ "if-none-match": `"x", W/${etag}` }), etag, st.mtimeMs)).toBe(true);
    expect(notModified(h({ "if-none-match": "*" }), etag, st.mtimeMs)).toBe(true);
    expect(notModified(h({ "if-none-match": '"other"' }), etag, st.mtimeMs)).toBe(false);
  });

  test("If-Modified-Since counts only without If-None-Match", () => {
    expect(notModified(h({ "if-modified-since": lastModified(st) }), etag, st.mtimeMs)).toBe(true);
    expect(notModified(h({ "if-modified-since": "Sun, 07 Feb 2021 17:25:49 GMT" }), etag, st.mtimeMs)).toBe(false);
    expect(notModified(h({ "if-modified-since": "yesterday" }), etag, st.mtimeMs)).toBe(false);
    expect(notModified(h({ "if-none-match": '"other"', "if-modified-since": lastModified(st) }), etag, st.mtimeMs)).toBe(false);
  });

  test("If-Range: the same strong tag or date keeps the range; anything else drops it", () => {
    const modified = lastModified(st);
    expect(rangeStillApplies(h({}), etag, modified)).toBe(true);
    expect(rangeStillApplies(h({ "if-range": etag }), etag, modified)).toBe(true);
    expect(rangeStillApplies(h({ "if-range": modified }), etag, modified)).toBe(true);
    expect(rangeStillApplies(h({ "if-range": `W/${etag}` }), etag, modified)).toBe(false);
    expect(rangeStillApplies(h({ "if-range": '"old"' }), etag, modified)).toBe(false);
  });
});

describe("contentTypeOf", () => {
  const cases: [string, string][] = [
    ["vmlinuz-x86_64", OCTET_STREAM],
    ["initramfs-aarch64", OCTET_STREAM],
    ["images/ubuntu.raw.gz", OCTET_STREAM],
    ["undionly.kpxe", OCTET_STREAM],
    ["ipxe.efi", OCTET_STREAM],
    ["menu.ipxe", "text/plain; charset=utf-8"],
    ["SHA256SUMS.sha256", "text/plain; charset=utf-8"],
    ["meta.json", "application/json"],
    ["a.dir/noext", OCTET_STREAM],
    ["rescue.ISO", "application/x-iso9660-image"],
  ];
  for (const [name, type] of cases) test(name, () => expect(contentTypeOf(name)).toBe(type));
});

describe("checkBootPath", () => {
  test("decodes and keeps ordinary paths", () => {
    expect(checkBootPath("hook/vmlinuz-x86_64")).toEqual({ ok: true, value: "hook/vmlinuz-x86_64" });
    expect(checkBootPath("a%20b..c")).toEqual({ ok: true, value: "a b..c" });
  });
  const refused: [string, PathRefusal][] = [
    ["..", "dot-segment"],
    ["a/../../api-token", "dot-segment"],
    ["%2e%2e%2fapi-token", "dot-segment"],
    ["%2E%2E/x", "dot-segment"],
    ["./x", "dot-segment"],
    ["%2fetc%2fpasswd", "absolute"],
    ["/etc/passwd", "absolute"],
    ["x%00.txt", "control-character"],
    ["x%0a", "control-character"],
    ["%zz", "bad-encoding"],
  ];
  for (const [raw, reason] of refused) test(`refuses ${raw}`, () => expect(checkBootPath(raw)).toEqual({ ok: false, error: reason }));
});

describe("client address", () => {
  const cidr = (t: string): Cidr => {
    const r = parseCidr(t);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  };
  const ip = (t: string) => (parseIpv4(t) as { ok: true; value: number }).value;

  test("parseCidr: networks, bare addresses, bad input", () => {
    expect(cidr("10.1.2.3/8")).toMatchObject({ network: ip("10.0.0.0"), mask: ip("255.0.0.0") });
    expect(cidr("192.168.1.7")).toMatchObject({ network: ip("192.168.1.7"), mask: 0xffffffff });
    expect(cidr("0.0.0.0/0")).toMatchObject({ network: 0, mask: 0 });
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/08", "fe80::/10"]) expect(parseCidr(bad).ok).toBe(false);
    expect(inCidrs(ip("10.200.0.1"), [cidr("10.0.0.0/8")])).toBe(true);
    expect(inCidrs(ip("11.0.0.1"), [cidr("10.0.0.0/8")])).toBe(false);
  });

  const trusted = [cidr("127.0.0.2/32"), cidr("10.99.0.0/16")];
  const cases: [string, string | undefined, string | null, string, string][] = [
    ["no header: the peer", "127.0.0.1", null, "127.0.0.1", "peer"],
    ["mapped IPv4 peer", "::ffff:127.0.0.1", null, "127.0.0.1", "peer"],
    ["untrusted peer: header ignored", "127.0.0.1", "10.9.8.7", "127.0.0.1", "peer"],
    ["trusted peer: the header's client", "127.0.0.2", "10.9.8.7", "10.9.8.7", "x-forwarded-for"],
    ["a chain of trusted proxies is walked from the right", "127.0.0.2", "10.9.8.7, 1.2.3.4, 10.99.1.1", "1.2.3.4", "x-forwarded-for"],
    ["a forged entry left of the real client is not believed", "127.0.0.2", "6.6.6.6, 10.9.8.7", "10.9.8.7", "x-forwarded-for"],
    ["all trusted: the leftmost", "127.0.0.2", "10.99.0.5", "10.99.0.5", "x-forwarded-for"],
    ["garbage from the proxy: the peer", "127.0.0.2", "unknown", "127.0.0.2", "peer"],
  ];
  for (const [name, peer, xff, text, source] of cases) {
    test(name, () => expect(clientAddress(peer, xff, trusted)).toMatchObject({ text, source, ip: ip(text) }));
  }
  test("an IPv6 peer has no IPv4 address to look up", () => {
    expect(clientAddress("fe80::1", null, trusted)).toEqual({ ip: undefined, text: "fe80::1", source: "peer" });
  });
});
