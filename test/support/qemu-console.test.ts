// The console text VM tests match against: what the screen shows, from qemu's serial bytes.
import { expect, test } from "bun:test";
import { consoleText } from "./qemu.ts";

test("escapes and carriage returns go; other text is kept as it is", () => {
  expect(consoleText("\x1b[2J\x1b[1;1HiPXE 1.21\r\n\x1b(BNet0: 52:54:00:78:00:10\r\n")).toBe("iPXE 1.21\nNet0: 52:54:00:78:00:10\n");
  expect(consoleText("no control bytes here\n  indented  \n")).toBe("no control bytes here\n  indented  \n");
});

test("iPXE's countdown, erased with backspace-space-backspace, leaves the last digit", () => {
  expect(consoleText("Press Ctrl-B for the iPXE command line...3\b \b2\b \b1\b \b\nnext")).toBe("Press Ctrl-B for the iPXE command line...\nnext");
  expect(consoleText("wait 3\b \b2\b \b1")).toBe("wait 1");
});

test("a slow download's percentage, overwritten, reads as '... ok' (seen under load)", () => {
  const raw = "http://10.78.0.1:36699/artifacts/vmlinuz-x86_64... 84%\b\b\b\b    \b\b\b\b ok\r\nhttp://10.78.0.1:36699/artifacts/initramfs-x86_64... ok\r\n";
  expect(consoleText(raw)).toBe("http://10.78.0.1:36699/artifacts/vmlinuz-x86_64... ok\nhttp://10.78.0.1:36699/artifacts/initramfs-x86_64... ok\n");
});

test("backspaces never reach into the line before, nor past its start", () => {
  expect(consoleText("first\n\b\bsecond")).toBe("first\nsecond");
});
