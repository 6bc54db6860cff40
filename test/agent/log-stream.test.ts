/** Docker's multiplexed log stream: frames split anywhere, both streams, partial lines, UTF-8 across frames. */
import { expect, test } from "bun:test";
import { encodeFrame, LastLines, LogDemuxer, type LogLine } from "../../agent/log-stream.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const stream = (): Uint8Array => {
  const frames = [encodeFrame(1, enc("hello\nwor")), encodeFrame(2, enc("oops\r\n")), encodeFrame(1, enc("ld\nt\u00e9")), encodeFrame(1, enc("st\nlast"))];
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frames) out.set(f, (off += f.length) - f.length);
  return out;
};
const EXPECTED: LogLine[] = [
  { stream: "stdout", text: "hello" },
  { stream: "stderr", text: "oops" },
  { stream: "stdout", text: "world" },
  { stream: "stdout", text: "t\u00e9st" },
  { stream: "stdout", text: "last" },
];

test("demultiplexes whole frames into lines per stream; the unterminated last line comes at the end", () => {
  const d = new LogDemuxer();
  expect([...d.push(stream()), ...d.end()]).toEqual(EXPECTED);
});

test("any split of the bytes gives the same lines (header or UTF-8 cut in two)", () => {
  const bytes = stream();
  for (let cut = 1; cut < bytes.length; cut++) {
    const d = new LogDemuxer();
    expect([...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut)), ...d.end()]).toEqual(EXPECTED);
  }
  const d = new LogDemuxer();
  const lines: LogLine[] = [];
  for (const b of bytes) lines.push(...d.push(Uint8Array.of(b)));
  expect([...lines, ...d.end()]).toEqual(EXPECTED);
});

test("an empty frame and an empty stream give nothing", () => {
  const d = new LogDemuxer();
  expect(d.push(encodeFrame(1, new Uint8Array(0)))).toEqual([]);
  expect(d.end()).toEqual([]);
});

test("LastLines keeps the last n", () => {
  const l = new LastLines(2);
  for (const s of ["a", "b", "c"]) l.add(s);
  expect(l.get()).toEqual(["b", "c"]);
});
