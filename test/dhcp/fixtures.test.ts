// Golden tests over test/fixtures/dhcp/*.txt. A fixture is the DHCP message (the UDP payload)
// as hex, then its expected rendering and classification. An "offset:" or "0xoffset:" prefix
// per line and any spacing are ignored, so Wireshark and tcpdump -xx dumps paste as they are
// (from tcpdump, drop the 42 bytes of Ethernet, IPv4 and UDP headers first). To add a capture:
// write a file with a "# comment" line and an "== hex" section, run
// `WISP_UPDATE_GOLDENS=1 npx bun test test/dhcp`, review the rendering it wrote, commit the file.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { classifyDhcp } from "../../daemon/dhcp/classify.ts";
import { decodeDhcp, dhcpLength, encodeDhcp } from "../../daemon/dhcp/codec.ts";
import { renderClassification, renderDhcp } from "../../daemon/dhcp/render.ts";
import { HAND_BUILT } from "./hand-built.ts";
import { packetDifference } from "./packet-equal.ts";

const DIR = join(import.meta.dir, "../fixtures/dhcp");
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
