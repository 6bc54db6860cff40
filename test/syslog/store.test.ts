// The in-memory syslog store: rings evict their oldest lines, machines do not share lines or
// bounds, unknown sources are bounded in number, the byte bound takes unknown sources first and
// then the machine written to least recently, and queries page forward or take the newest.
import { describe, expect, test } from "bun:test";
import type { SyslogEntry, SyslogSource } from "../../daemon/syslog/line.ts";
import { createSyslogStore, lineBytes, LINES_PER_MACHINE, type EvictReason, type SyslogLimits } from "../../daemon/syslog/store.ts";

const entry = (message: string, peer = "192.0.2.10"): SyslogEntry => ({ receivedAt: "2024-01-01T00:00:00.000Z", peer, format: "rfc3164", severity: "info", message });
const hw = (name: string, namespace = "default"): SyslogSource => ({ kind: "hardware", namespace, name });
const unknown = (address: string): SyslogSource => ({ kind: "unknown", address });
const messages = (lines: { message: string }[]) => lines.map((l) => l.message);

function store(limits: Partial<SyslogLimits>) {
  const evicted: Record<EvictReason, number> = { ring: 0, source: 0, memory: 0 };
  const s = createSyslogStore({ limits, onEvict: (reason, n) => (evicted[reason] += n) });
  return { s, evicted };
}

describe("syslog store", () => {
  test("a ring keeps the newest lines in order and counts what it evicts", () => {
    const { s, evicted } = store({ linesPerMachine: 3 });
    for (let i = 1; i <= 5; i++) s.add(hw("m1"), entry(`line ${i}`));
    const lines = s.machine("default", "m1");
    expect(messages(lines)).toEqual(["line 3", "line 4", "line 5"]);
    expect(lines.map((l) => l.seq)).toEqual([3, 4, 5]);
    expect(evicted).toEqual({ ring: 2, source: 0, memory: 0 });
    expect(s.stats).toMatchObject({ lines: 3, machines: 1, unknownSources: 0 });
    expect(s.stats.bytes).toBe(lines.reduce((n, l) => n + lineBytes(l), 0));
  });

  test("the default ring holds LINES_PER_MACHINE lines", () => {
    const { s } = store({});
    for (let i = 0; i < LINES_PER_MACHINE + 10; i++) s.add(hw("m1"), entry(`l${i}`));
    const lines = s.machine("default", "m1");
    expect(lines.length).toBe(LINES_PER_MACHINE);
    expect(lines[0]!.message).toBe("l10");
  });

  test("machines are isolated: own lines, own bound; namespaces count", () => {
    const { s } = store({ linesPerMachine: 2 });
    s.add(hw("m1"), entry("a1"));
    s.add(hw("m2"), entry("b1"));
    s.add(hw("m1", "other"), entry("c1"));
    for (let i = 2; i <= 6; i++) s.add(hw("m1"), entry(`a${i}`));
    expect(messages(s.machine("default", "m1"))).toEqual(["a5", "a6"]);
    expect(messages(s.machine("default", "m2"))).toEqual(["b1"]);
    expect(messages(s.machine("other", "m1"))).toEqual(["c1"]);
    expect(s.machine("default", "nope")).toEqual([]);
    expect(s.unknown()).toEqual([]);
  });

  test("since pages forward oldest first; without it, the newest; lastSeq is the highest given", () => {
    const { s } = store({});
    for (let i = 1; i <= 10; i++) s.add(i % 2 ? hw("m1") : hw("m2"), entry(`l${i}`));
    expect(s.lastSeq).toBe(10);
    expect(messages(s.machine("default", "m1", { limit: 2 }))).toEqual(["l7", "l9"]);
    expect(messages(s.machine("default", "m1", { since: 3, limit: 2 }))).toEqual(["l5", "l7"]);
    expect(messages(s.machine("default", "m1", { since: 4 }))).toEqual(["l5", "l7", "l9"]);
    expect(s.machine("default", "m1", { since: 9 })).toEqual([]);
    expect(messages(s.machine("default", "m1", { since: 0 }))).toEqual(["l1", "l3", "l5", "l7", "l9"]);
  });

  test("unknown sources: a smaller ring each, a bound on how many, the least recently heard dropped", () => {
    const { s, evicted } = store({ linesPerUnknownSource: 2, maxUnknownSources: 2 });
    s.add(unknown("10.0.0.1"), entry("x1", "10.0.0.1"));
    s.add(unknown("10.0.0.2"), entry("y1", "10.0.0.2"));
    s.add(unknown("10.0.0.1"), entry("x2", "10.0.0.1"));
    s.add(unknown("10.0.0.1"), entry("x3", "10.0.0.1"));
    expect(evicted.ring).toBe(1);
    // 10.0.0.2 was heard least recently: a third source drops it with its line.
    s.add(unknown("10.0.0.3"), entry("z1", "10.0.0.3"));
    expect(evicted.source).toBe(1);
    expect(s.stats.unknownSources).toBe(2);
    expect(messages(s.unknown())).toEqual(["x2", "x3", "z1"]);
    expect(messages(s.unknown({ address: "10.0.0.1" }))).toEqual(["x2", "x3"]);
    expect(s.unknown({ address: "10.0.0.2" })).toEqual([]);
    expect(messages(s.unknown({ limit: 1 }))).toEqual(["z1"]);
    expect(messages(s.unknown({ since: 3, limit: 1 }))).toEqual(["x3"]);
    expect(s.machine("default", "10.0.0.1")).toEqual([]);
  });

  test("the byte bound takes unknown sources first, then the machine written to least recently", () => {
    const one = lineBytes(entry("aaaa"));
    const { s, evicted } = store({ maxBytes: one * 4 });
    s.add(hw("old"), entry("o1aa"));
    s.add(hw("new"), entry("n1aa"));
    s.add(unknown("10.0.0.9"), entry("u1aa", "10.0.0.9"));
    s.add(hw("old"), entry("o2aa")); // "old" is now the most recently written machine
    expect(evicted.memory).toBe(0);
    s.add(hw("new"), entry("n2aa"));
    expect(evicted.memory).toBe(1);
    expect(s.stats.unknownSources).toBe(0);
    s.add(hw("new"), entry("n3aa"));
    // "old" was written before "new": its oldest line goes.
    expect(messages(s.machine("default", "old"))).toEqual(["o2aa"]);
    expect(messages(s.machine("default", "new"))).toEqual(["n1aa", "n2aa", "n3aa"]);
    expect(s.stats).toMatchObject({ lines: 4, bytes: one * 4 });
    expect(evicted.memory).toBe(2);
  });

  test("subscribers see each line with its source until they stop", () => {
    const { s } = store({});
    const seen: string[] = [];
    const stop = s.subscribe((line, source) => seen.push(`${line.seq} ${source.kind} ${line.message}`));
    s.add(hw("m1"), entry("a"));
    s.add(unknown("10.0.0.1"), entry("b"));
    stop();
    s.add(hw("m1"), entry("c"));
    expect(seen).toEqual(["1 hardware a", "2 unknown b"]);
  });
});
