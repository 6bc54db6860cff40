/** The rendered-script cache alone: settings changes and index changes drop it, a late render is not kept. */
import { describe, expect, test } from "bun:test";
import type { DhcpHost } from "../../daemon/dhcp/types.ts";
import type { ScriptOutcome, ScriptSettings } from "../../daemon/http/ipxe-script.ts";
import { createScriptCache, sameSettings } from "../../daemon/http/script-cache.ts";

const SETTINGS: ScriptSettings = { publicIp: "10.0.0.1", httpPort: 80, grpcPort: 42113, mode: "reservation", userClass: "Wisp" };
const outcome = (text: string): ScriptOutcome => ({ kind: "script", source: "hook", text });
const host = () => ({ mac: "52:54:00:00:00:01" }) as unknown as DhcpHost;

function changes() {
  const listeners = new Set<() => void>();
  return { subscribe: (l: () => void) => (listeners.add(l), () => void listeners.delete(l)), fire: () => listeners.forEach((l) => l()), listeners };
}

describe("script cache", () => {
  test("keeps a script per host and its body encoded", () => {
    const c = changes();
    const cache = createScriptCache(c.subscribe);
    const h = host();
    expect(cache.get(h, SETTINGS)).toBeUndefined();
    const r = cache.put(h, cache.generation, outcome("#!ipxe\nécho\n"));
    expect(r.status).toBe(200);
    expect(new TextDecoder().decode(r.body)).toBe("#!ipxe\nécho\n");
    expect(cache.get(h, SETTINGS)).toBe(r);
    expect(cache.get(host(), SETTINGS)).toBeUndefined(); // another host object
    expect(cache.get(undefined, SETTINGS)).toBeUndefined();
    const generic = cache.put(undefined, cache.generation, outcome("generic"));
    expect(cache.get(undefined, SETTINGS)).toBe(generic);
    expect(cache.size).toBe(2);
  });

  test("an index change drops everything; a script rendered before it is not kept", () => {
    const c = changes();
    const cache = createScriptCache(c.subscribe);
    const h = host();
    cache.get(h, SETTINGS);
    cache.put(h, cache.generation, outcome("a"));
    const before = cache.generation;
    c.fire();
    expect(cache.get(h, SETTINGS)).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.put(h, before, outcome("rendered from the old Hardware"));
    expect(cache.get(h, SETTINGS)).toBeUndefined();
    cache.close();
    expect(c.listeners.size).toBe(0);
  });

  test("other settings (the agent token learnt after start, a port) drop the scripts", () => {
    const cache = createScriptCache(changes().subscribe);
    const h = host();
    cache.get(h, SETTINGS);
    cache.put(h, cache.generation, outcome("a"));
    expect(cache.get(h, { ...SETTINGS })).toBeDefined(); // equal fields, another object
    expect(cache.get(h, { ...SETTINGS, agentToken: "t" })).toBeUndefined();
    cache.put(h, cache.generation, outcome("b"));
    expect(cache.get(h, { ...SETTINGS, agentToken: "t" })).toBeDefined();
    expect(cache.get(h, { ...SETTINGS, agentToken: "t", httpPort: 8080 })).toBeUndefined();
  });

  test("sameSettings compares every field, the registry's too", () => {
    const reg = { ...SETTINGS, registry: { host: "r:5000", username: "u", password: "p" } };
    expect(sameSettings(reg, { ...reg, registry: { ...reg.registry } })).toBe(true);
    for (const other of [{ ...reg, registry: { ...reg.registry, password: "q" } }, { ...reg, registry: undefined }, { ...reg, retries: 3 }, { ...reg, mode: "auto-proxy" as const }, { ...reg, userClass: "x" }]) {
      expect(sameSettings(reg, other)).toBe(false);
    }
  });
});
