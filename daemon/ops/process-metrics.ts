/**
 * Process metrics under the names Prometheus client libraries use (process_*, plus the event
 * loop's lag), read from /proc and the runtime when scraped; the lag is sampled by a timer.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { MetricsRegistry } from "../lib/metrics.ts";

/** How often the event loop's lag is sampled (a timer that should fire this often). */
export const EVENT_LOOP_SAMPLE_MS = 500;
/** Buckets of the event-loop lag histogram (seconds): a busy loop is late by ms, a stuck one by s. */
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** Registers the process metrics in `registry`; returns a function that stops the lag sampler. */
export function registerProcessMetrics(registry: MetricsRegistry): () => void {
  const started = processStartSeconds();
  registry.gaugeFunction("process_resident_memory_bytes", "Resident memory size in bytes", () => process.memoryUsage.rss());
  registry.gaugeFunction("process_heap_bytes", "JavaScript heap in use, in bytes", () => process.memoryUsage().heapUsed);
  registry.counterFunction("process_cpu_seconds_total", "User and system CPU time spent, in seconds", () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  });
  registry.gaugeFunction("process_open_fds", "Open file descriptors", openFds);
  registry.gaugeFunction("process_max_fds", "Limit of open file descriptors (RLIMIT_NOFILE)", maxFds);
  registry.gaugeFunction("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds", () => started);
  const lag = registry.gauge("wisp_event_loop_lag_seconds", "How late the last event-loop sample timer fired, in seconds").labels();
  const lags = registry.histogram("wisp_event_loop_lag_sample_seconds", "How late event-loop sample timers fired, in seconds", [], LAG_BUCKETS).labels();
  let expected = performance.now() + EVENT_LOOP_SAMPLE_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - expected) / 1000;
    lag.set(late);
    lags.observe(late);
    expected = now + EVENT_LOOP_SAMPLE_MS;
  }, EVENT_LOOP_SAMPLE_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function openFds(): number {
  try {
    return readdirSync("/proc/self/fd").length - 1; // the directory handle readdir itself holds
  } catch {
    return NaN;
  }
}

function maxFds(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? Infinity : Number(soft);
  } catch {
    return NaN;
  }
}

// proc(5): field 22 of /proc/self/stat is the start time in clock ticks after boot (btime in
// /proc/stat); USER_HZ is 100 on every Linux ABI we run on.
const USER_HZ = 100;

function processStartSeconds(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // the name may hold spaces
    const ticks = Number(fields[19]); // field 22, counted from field 3 after the name
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    if (Number.isFinite(ticks) && Number.isFinite(btime)) return btime + ticks / USER_HZ;
  } catch {
    // not Linux: fall through to the runtime's uptime
  }
  return Math.round(Date.now() / 1000 - process.uptime());
}
