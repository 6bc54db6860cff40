// Golden tests over test/fixtures/dhcp/*.txt. A fixture is the DHCP message (the UDP payload)
// as hex, then its expected rendering and classification. An "offset:" or "0xoffset:" prefix
// per line and any spacing are ignored, so Wireshark and tcpdump -xx dumps paste as they are
// (from tcpdump, drop the 42 bytes of Ethernet, IPv4 and UDP headers first). To add a capture:
// write a file with a "# comment" line and an "== hex" section, run
// `WISP_UPDATE_GOLDENS=1 npx bun test test/dhcp`, review the rendering it wrote, commit the file.
// capture-*.txt are real clients' packets written by test/fixtures/dhcp/capture.ts (run by hand);
// each must also decode, classify as CAPTURES says, and re-encode to the same values.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { classifyDhcp, type DhcpClassification } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, dhcpLength, encodeDhcp } from "../../daemon/dhcp/codec.ts";
import { renderClassification, renderDhcp } from "../../daemon/dhcp/render.ts";
import { HAND_BUILT } from "./hand-built.ts";
import { packetDifference } from "./packet-equal.ts";

const DIR = join(import.meta.dir, "../fixtures/dhcp");
const CAPTURE = /^capture-.*\.txt$/;

/** What each real capture (test/fixtures/dhcp/capture.ts) must classify as. */
const CAPTURES: Record<string, Partial<DhcpClassification>> = {
  "capture-dhclient-discover": { messageType: 1, mac: "02:80:00:00:00:0a", client: undefined, userClass: undefined, arch: undefined, relayed: false },
  "capture-dhclient-request": { messageType: 3, mac: "02:80:00:00:00:0a", client: undefined, userClass: undefined, arch: undefined, relayed: false },
  "capture-udhcpc-discover": { messageType: 1, mac: "02:80:00:00:00:0b", vendorClass: "udhcp 1.35.0", client: undefined, userClass: undefined, arch: undefined, relayed: false },
  "capture-udhcpc-request": { messageType: 3, mac: "02:80:00:00:00:0b", client: undefined, userClass: undefined, arch: undefined, relayed: false },
  "capture-udhcpc-renew": { messageType: 3, mac: "02:80:00:00:00:0b", client: undefined, userClass: undefined, arch: undefined, relayed: false },
  "capture-dhcrelay-discover": { messageType: 1, mac: "02:80:00:00:00:0c", client: undefined, userClass: undefined, arch: undefined, relayed: true },
  "capture-perfdhcp-discover": { messageType: 1, mac: "02:80:00:00:00:0e", client: undefined, userClass: undefined, arch: undefined, relayed: true },
  "capture-ipxe-bios-discover": { messageType: 1, mac: "52:54:00:80:00:10", client: "pxe", userClass: "ipxe", arch: 0, relayed: false },
  "capture-ovmf-pxe-discover": { messageType: 1, mac: "52:54:00:80:00:11", client: "pxe", userClass: undefined, arch: 7, relayed: false },
  "capture-ipxe-ovmf-discover": { messageType: 1, mac: "52:54:00:80:00:12", client: "pxe", userClass: "ipxe", arch: 7, relayed: false },
};
const UPDATE = process.env.WISP_UPDATE_GOLDENS === "1";

interface Fixture {
  comment: string;
  hex: Uint8Array;
  golden: string | undefined;
}

function parseFixture(text: string): Fixture {
  const comment = text.split("\n").filter((l) => l.startsWith("#")).join("\n");
  const hexPart = /^== hex\n([\s\S]*?)(?=^== |(?![\s\S]))/m.exec(text)?.[1] ?? "";
  const digits = hexPart
    .split("\n")
    .map((l) => l.replace(/^\s*(0x)?[0-9a-fA-F]+:\s/, "").replace(/\s+/g, ""))
    .join("");
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error("the == hex section is not whole bytes of hex");
  const golden = /^== rendering\n([\s\S]*)$/m.exec(text)?.[1]?.trimEnd();
  return { comment, hex: Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16)), golden };
}

function formatHex(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, "0")).join(" ");
    lines.push(`${i.toString(16).padStart(4, "0")}: ${row}`);
  }
  return lines.join("\n");
}

function render(bytes: Uint8Array): string {
  const decoded = decodeDhcp(bytes);
  if (!decoded.ok) return `error: ${decoded.error}`;
  return `${renderDhcp(decoded.value)}\n== classification\n${renderClassification(classifyDhcp(decoded.value))}`;
}

function write(name: string, comment: string, hex: Uint8Array): void {
  writeFileSync(join(DIR, `${name}.txt`), `${comment}\n== hex\n${formatHex(hex)}\n== rendering\n${render(hex)}\n`);
}

if (UPDATE) {
  for (const [name, bytes] of Object.entries(HAND_BUILT)) {
    let comment = `# ${name}: hand-built in test/dhcp/hand-built.ts`;
    try {
      comment = parseFixture(readFileSync(join(DIR, `${name}.txt`), "utf8")).comment || comment;
    } catch {}
    write(name, comment, bytes);
  }
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".txt")).sort();

describe("dhcp fixtures", () => {
  test("every hand-built packet has its fixture, byte for byte", () => {
    for (const [name, bytes] of Object.entries(HAND_BUILT)) {
      const fixture = parseFixture(readFileSync(join(DIR, `${name}.txt`), "utf8"));
      expect(Array.from(fixture.hex)).toEqual(Array.from(bytes));
    }
  });

  test("every real capture has its expected classification, and every expectation its capture", () => {
    expect(files.filter((f) => CAPTURE.test(f)).map((f) => f.slice(0, -4))).toEqual(Object.keys(CAPTURES).sort());
  });

  for (const file of files.filter((f) => CAPTURE.test(f))) {
    test(`${file}: a real client's packet decodes, classifies as expected, and re-encodes to the same values`, () => {
      const name = file.slice(0, -4);
      const fixture = parseFixture(readFileSync(join(DIR, file), "utf8"));
      expect(fixture.comment).toMatch(/with test\/fixtures\/dhcp\/capture\.ts/);
      const decoded = decodeDhcp(fixture.hex);
      if (!decoded.ok) throw new Error(`${file} does not decode: ${decoded.error}`);
      const cls = classifyDhcp(decoded.value);
      expect(cls).toMatchObject(CAPTURES[name]!);
      const out = new Uint8Array(dhcpLength(decoded.value));
      expect(encodeDhcp(decoded.value, out, 0)).toBe(out.length);
      const again = decodeDhcp(out);
      if (!again.ok) throw new Error(`${file} re-encoded does not decode: ${again.error}`);
      expect(packetDifference(decoded.value, again.value)).toBeUndefined();
      expect(classifyDhcp(again.value)).toEqual(cls);
    });
  }

  for (const file of files) {
    test(file, () => {
      const name = file.slice(0, -4);
      const fixture = parseFixture(readFileSync(join(DIR, file), "utf8"));
      if (UPDATE && !(name in HAND_BUILT)) write(name, fixture.comment, fixture.hex);
      const golden = UPDATE ? parseFixture(readFileSync(join(DIR, file), "utf8")).golden : fixture.golden;
      expect(render(fixture.hex)).toBe(golden ?? "(no rendering yet: run with WISP_UPDATE_GOLDENS=1)");

      // Every accepted fixture is also a codec case: round trip, length, and encode at an offset.
      const decoded = decodeDhcp(fixture.hex);
      if (!decoded.ok) return;
      const out = new Uint8Array(dhcpLength(decoded.value) + 7);
      const n = encodeDhcp(decoded.value, out, 7);
      expect(n).toBe(dhcpLength(decoded.value));
      const again = decodeDhcp(out.subarray(7, 7 + n));
      expect(again.ok && packetDifference(decoded.value, again.value)).toBeUndefined();
    });
  }
});
