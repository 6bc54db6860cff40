/**
 * Pure checks for the scalar values manifests carry: MAC and IP addresses, netmasks, names,
 * VLAN ids, URLs. Each `check*` returns the message for a bad value, or undefined.
 */

/** Lower-case colon form of a MAC in any common notation (aa-bb-.., AABB.CCDD.EEFF, aabbccddeeff), or undefined. */
export function normalizeMac(text: string): string | undefined {
  if (typeof text !== "string") return undefined;
  const s = text.trim().toLowerCase();
  // Colon or dash pairs (Linux, Windows), Cisco dotted quads, or twelve bare digits.
  const hex = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/.test(s)
    ? s.replace(/[:-]/g, "")
    : /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(s)
      ? s.replace(/\./g, "")
      : /^[0-9a-f]{12}$/.test(s)
        ? s
        : undefined;
  return hex?.match(/../g)?.join(":");
}

/** The four octets of a dotted-quad IPv4 address, or undefined. */
export function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const p of parts) {
    // Leading zeros are refused, as Go's net.ParseIP does: "010" reads as octal elsewhere.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    octets.push(n);
  }
  return octets;
}

/** The sixteen bytes of an IPv6 address (RFC 4291 2.2 text forms), or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (const [i, g] of items.entries()) {
      if (i === items.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** True when the bytes are ones then zeros (a prefix mask). */
function contiguous(bytes: number[]): boolean {
  const bits = bytes.map((b) => b.toString(2).padStart(8, "0")).join("");
  return !bits.includes("01");
}

/** Message for a value that is not an IPv4 address. */
export function checkIPv4(text: string): string | undefined {
  return parseIPv4(text) ? undefined : `expected an IPv4 address like 192.168.1.8, got ${quote(text)}`;
}

/** Message for a value that is neither an IPv4 nor an IPv6 address. */
export function checkIP(text: string): string | undefined {
  return parseIPv4(text) || parseIPv6(text)
    ? undefined
    : `expected an IP address like 192.168.1.8 or 2001:db8::8, got ${quote(text)}`;
}

/** Message for a value that is not a contiguous dotted-quad netmask. */
export function checkNetmask(text: string): string | undefined {
  const bytes = parseIPv4(text);
  if (!bytes) return `expected a netmask like 255.255.255.0, got ${quote(text)}`;
  return contiguous(bytes) ? undefined : `netmask ${text} is not contiguous (ones must precede zeros, like 255.255.255.0)`;
}

/** Message for a value that is not a contiguous IPv4 or IPv6 netmask. */
export function checkAnyNetmask(text: string): string | undefined {
  if (parseIPv4(text)) return checkNetmask(text);
  const bytes = parseIPv6(text);
  if (!bytes) return `expected a netmask like 255.255.255.0 or ffff:ffff:ffff:ffff::, got ${quote(text)}`;
  return contiguous(bytes) ? undefined : `netmask ${text} is not contiguous (ones must precede zeros)`;
}

/** Message for a value that is not an IPv4 CIDR such as 10.0.0.0/8. */
export function checkIPv4Cidr(text: string): string | undefined {
  const [address = "", prefix, ...rest] = text.split("/");
  const ok = rest.length === 0 && parseIPv4(address) && prefix !== undefined && /^(0|[1-9][0-9]?)$/.test(prefix) && Number(prefix) <= 32;
  return ok ? undefined : `expected a network like 10.0.0.0/8, got ${quote(text)}`;
}

/** True when two IPv4 addresses share the network a netmask describes. */
export function sameSubnet(a: string, b: string, netmask: string): boolean | undefined {
  const [x, y, m] = [parseIPv4(a), parseIPv4(b), parseIPv4(netmask)];
  if (!x || !y || !m) return undefined;
  return m.every((mask, i) => (x[i]! & mask) === (y[i]! & mask));
}

/** Message for a value that is not a MAC address. */
export function checkMac(text: string): string | undefined {
  return normalizeMac(text) ? undefined : `expected a MAC address like 1c:69:7a:11:22:33, got ${quote(text)}`;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Message for a name that is not a DNS-1123 subdomain (what Kubernetes requires of object names). */
export function checkSubdomain(text: string): string | undefined {
  const ok = text.length <= 253 && text.split(".").every((label) => DNS1123_LABEL.test(label));
  return ok
    ? undefined
    : `expected a name of lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters (DNS-1123 subdomain), got ${quote(text)}`;
}

/** Message for a namespace that is not a DNS-1123 label. */
export function checkLabel(text: string): string | undefined {
  return text.length <= 63 && DNS1123_LABEL.test(text)
    ? undefined
    : `expected a namespace of lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (DNS-1123 label), got ${quote(text)}`;
}

/** Message for a VLAN id list that is not Tinkerbell's comma-separated 0..4096. */
export function checkVlanId(text: string): string | undefined {
  const ok = text.split(",").every((v) => /^(0|[1-9][0-9]{0,3})$/.test(v) && Number(v) <= 4096);
  return ok ? undefined : `expected a VLAN id from 0 to 4096 (or a comma-separated list), got ${quote(text)}`;
}

/** A check for an absolute URL with one of the given schemes. */
export function urlCheck(...schemes: string[]): (text: string) => string | undefined {
  return (text) => {
    let scheme: string | undefined;
    try {
      scheme = new URL(text).protocol.slice(0, -1);
    } catch {
      scheme = undefined;
    }
    return scheme !== undefined && schemes.includes(scheme)
      ? undefined
      : `expected an absolute ${schemes.join(" or ")} URL, got ${quote(text)}`;
  };
}

/** A string shown in a message: JSON-quoted, long ones cut. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? text.slice(0, 57) + "..." : text);
}
