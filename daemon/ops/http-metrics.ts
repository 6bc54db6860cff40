/**
 * HTTP request metrics for every route of the one HTTP listener, by route group: boot (iPXE
 * script and binaries), artifacts, metadata, api, ops (health, metrics) and console; the group
 * comes from Elysia's matched route, so a scan of random paths adds no label values.
 */
import { BINARY_PATH, SCRIPT_PATH } from "../dhcp/boot.ts";
import { ARTIFACTS_PATH } from "../http/ipxe-script.ts";
import type { Counter, Family, Histogram, MetricsRegistry } from "../lib/metrics.ts";
import { EC2_VERSIONS, INSTANCE_ID_PATH, METADATA_JSON_PATH, NOCLOUD_PATH } from "../metadata/routes.ts";

/** The `group` label of the HTTP metrics. */
export type RouteGroup = "boot" | "artifacts" | "metadata" | "api" | "ops" | "console" | "unmatched";

/** Buckets of the request duration (seconds): a script takes well under 1 ms, an image minutes. */
export const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;

const METADATA_PREFIXES = [...EC2_VERSIONS.map((v) => `/${v}`), NOCLOUD_PATH, METADATA_JSON_PATH, INSTANCE_ID_PATH];
const OPS_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

const under = (route: string, prefix: string): boolean => route === prefix || route.startsWith(`${prefix}/`);

/** The group of a matched route pattern (undefined: no route matched). */
export function routeGroup(route: string | undefined | null): RouteGroup {
  if (!route) return "unmatched";
  if (OPS_PATHS.has(route)) return "ops";
  if (under(route, "/api")) return "api";
  if (under(route, SCRIPT_PATH) || under(route, BINARY_PATH)) return "boot";
  if (under(route, ARTIFACTS_PATH)) return "artifacts";
  if (METADATA_PREFIXES.some((p) => under(route, p))) return "metadata";
  return "console";
}

/** The `class` label: 2xx, 3xx, 4xx or 5xx. */
export const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;

/** Counts and times requests; `observe` is called once per response. */
export interface HttpMetrics {
  observe(route: string | undefined | null, status: number, seconds: number): void;
}

/** Registers wisp_http_requests_total and wisp_http_request_duration_seconds. */
export function httpMetrics(registry: MetricsRegistry): HttpMetrics {
  const requests: Family<Counter> = registry.counter("wisp_http_requests_total", "HTTP requests answered, by route group and status code", ["group", "code"]);
  const seconds: Family<Histogram> = registry.histogram(
    "wisp_http_request_duration_seconds",
    "HTTP request duration from arrival to the response handed to the socket (a file body streams on after), by route group and status class",
    ["group", "class"],
    HTTP_BUCKETS,
  );
  return {
    observe(route, status, s) {
      const group = routeGroup(route);
      requests.labels(group, String(status)).inc();
      seconds.labels(group, statusClass(status)).observe(s);
    },
  };
}
