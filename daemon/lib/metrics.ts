/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format 0.0.4. Children are found through one Map per label, so counting a
 * packet with labels already seen allocates nothing.
 */

/** Content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** How long one collector may take per scrape before the scrape goes on without it. */
export const COLLECT_TIMEOUT_MS = 2_000;

/** Default histogram buckets (seconds), as the Prometheus client libraries use. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** A counter (only goes up) or gauge for one combination of label values. */
export interface Counter {
  inc(by?: number): void;
  readonly value: number;
}

/** A gauge for one combination of label values. */
export interface Gauge extends Counter {
  set(value: number): void;
  dec(by?: number): void;
}

/** A histogram for one combination of label values. */
export interface Histogram {
  observe(value: number): void;
  readonly count: number;
  readonly sum: number;
}

/** A metric with label names; `labels(...)` gives the child for those values, in label order. */
export interface Family<Child> {
  readonly name: string;
  labels(...values: string[]): Child;
}

/** What the registry exposes. */
export interface MetricsRegistry {
  /** Gets or creates a counter family; the same name with another shape throws (a programming error). */
  counter(name: string, help: string, labelNames?: readonly string[]): Family<Counter>;
  gauge(name: string, help: string, labelNames?: readonly string[]): Family<Gauge>;
  /** A gauge read when scraped (e.g. a cache size), with no labels. */
  gaugeFunction(name: string, help: string, read: () => number): void;
  /** A counter read when scraped (e.g. CPU seconds the kernel counts), with no labels. */
  counterFunction(name: string, help: string, read: () => number): void;
  /**
   * Runs `collect` before each `scrape()` (e.g. a gauge set from one cheap store query). It gets
   * at most COLLECT_TIMEOUT_MS; a failure or overrun keeps the last values and is counted in
   * wisp_metrics_collect_errors_total{collector}.
   */
  collector(name: string, collect: () => Promise<void> | void): void;
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): Family<Histogram>;
  /** The text exposition format 0.0.4, as things are now (collectors not run). */
  render(): string;
  /** Runs the collectors, then renders: what GET /metrics serves. */
  scrape(): Promise<string>;
  /** The current value of a counter or gauge child, or undefined; for tests and logs. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

type Kind = "counter" | "gauge" | "histogram";

interface Metric {
  kind: Kind;
  name: string;
  help: string;
  labelNames: readonly string[];
  buckets?: readonly number[];
  root: Node;
  read?: () => number;
}

// A tree with one level per label: values -> children; the leaf holds the child's state.
interface Node {
  next: Map<string, Node>;
  leaf?: Leaf;
}

interface Leaf {
  values: readonly string[];
  value: number;
  /** Histogram only: cumulative counts are computed when rendered. */
  bucketCounts?: number[];
  sum?: number;
  child: Counter | Gauge | Histogram;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Creates an empty registry. */
export function createMetricsRegistry(): MetricsRegistry {
  const metrics = new Map<string, Metric>();
  const collectors = new Map<string, () => Promise<void> | void>();

  function define(kind: Kind, name: string, help: string, labelNames: readonly string[], buckets?: readonly number[]): Metric {
    const existing = metrics.get(name);
    if (existing) {
      if (existing.kind !== kind || existing.labelNames.join() !== labelNames.join()) {
        throw new Error(`metric ${name} already registered as a ${existing.kind} with labels [${existing.labelNames.join(", ")}]`);
      }
      return existing;
    }
    if (!NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not valid`);
    for (const l of labelNames) if (!LABEL.test(l) || l === "le") throw new Error(`label name ${JSON.stringify(l)} of ${name} is not valid`);
    const metric: Metric = { kind, name, help, labelNames, buckets, root: { next: new Map() } };
    metrics.set(name, metric);
    return metric;
  }

  function family<Child>(metric: Metric): Family<Child> {
    return {
      name: metric.name,
      labels: (...values: string[]) => leafOf(metric, values).child as Child,
    };
  }

  return {
    counter: (name, help, labelNames = []) => family<Counter>(define("counter", name, help, labelNames)),
    gauge: (name, help, labelNames = []) => family<Gauge>(define("gauge", name, help, labelNames)),
    gaugeFunction(name, help, read) {
      define("gauge", name, help, []).read = read;
    },
    counterFunction(name, help, read) {
      define("counter", name, help, []).read = read;
    },
    collector(name, collect) {
      collectors.set(name, collect);
    },
    histogram: (name, help, labelNames = [], buckets = DEFAULT_BUCKETS) => {
      const sorted = [...buckets].sort((a, b) => a - b);
      return family<Histogram>(define("histogram", name, help, labelNames, sorted));
    },
    render: () => [...metrics.values()].map(renderMetric).join(""),
    async scrape() {
      if (collectors.size > 0) {
        const errors = define("counter", "wisp_metrics_collect_errors_total", "Scrape-time collectors that failed or overran, by collector", ["collector"]);
        await Promise.all([...collectors].map(([name, collect]) => runCollector(collect).catch(() => (leafOf(errors, [name]).child as Counter).inc())));
      }
      return [...metrics.values()].map(renderMetric).join("");
    },
    value(name, labels = {}) {
      const metric = metrics.get(name);
      if (!metric) return undefined;
      if (metric.read) return metric.read();
      let node: Node | undefined = metric.root;
      for (const l of metric.labelNames) node = node?.next.get(labels[l] ?? "");
      return node?.leaf?.value;
    },
  };
}

async function runCollector(collect: () => Promise<void> | void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("collector overran")), COLLECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([Promise.resolve().then(collect), overrun]);
  } finally {
    clearTimeout(timer);
  }
}

function leafOf(metric: Metric, values: readonly string[]): Leaf {
  if (values.length !== metric.labelNames.length) {
    throw new Error(`metric ${metric.name}: ${values.length} label values for labels [${metric.labelNames.join(", ")}]`);
  }
  let node = metric.root;
  for (const v of values) {
    let next = node.next.get(v);
    if (next === undefined) node.next.set(v, (next = { next: new Map() }));
    node = next;
  }
  return (node.leaf ??= newLeaf(metric, [...values]));
}

function newLeaf(metric: Metric, values: string[]): Leaf {
  const leaf: Leaf = { values, value: 0, child: undefined as unknown as Counter };
  if (metric.kind === "histogram") {
    const buckets = metric.buckets!;
    leaf.bucketCounts = new Array<number>(buckets.length).fill(0);
    leaf.sum = 0;
    leaf.child = {
      observe(v: number) {
        for (let i = 0; i < buckets.length; i++) {
          if (v <= buckets[i]!) {
            leaf.bucketCounts![i]!++;
            break;
          }
        }
        leaf.value++;
        leaf.sum! += v;
      },
      get count() {
        return leaf.value;
      },
      get sum() {
        return leaf.sum!;
      },
    };
  } else {
    const isCounter = metric.kind === "counter";
    leaf.child = {
      inc(by = 1) {
        if (isCounter && by < 0) throw new Error(`counter ${metric.name} cannot go down`);
        leaf.value += by;
      },
      dec(by = 1) {
        leaf.value -= by;
      },
      set(v: number) {
        leaf.value = v;
      },
      get value() {
        return leaf.value;
      },
    } satisfies Gauge;
  }
  return leaf;
}

function leaves(node: Node, out: Leaf[] = []): Leaf[] {
  if (node.leaf) out.push(node.leaf);
  for (const child of node.next.values()) leaves(child, out);
  return out;
}

function renderMetric(m: Metric): string {
  let text = `# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.kind}\n`;
  if (m.read) return text + `${m.name} ${formatNumber(m.read())}\n`;
  for (const leaf of leaves(m.root)) {
    const pairs = m.labelNames.map((l, i) => `${l}="${escapeLabel(leaf.values[i]!)}"`);
    if (m.kind !== "histogram") {
      text += `${m.name}${braces(pairs)} ${formatNumber(leaf.value)}\n`;
      continue;
    }
    let cumulative = 0;
    m.buckets!.forEach((le, i) => {
      cumulative += leaf.bucketCounts![i]!;
      text += `${m.name}_bucket${braces([...pairs, `le="${formatNumber(le)}"`])} ${cumulative}\n`;
    });
    text += `${m.name}_bucket${braces([...pairs, `le="+Inf"`])} ${leaf.value}\n`;
    text += `${m.name}_sum${braces(pairs)} ${formatNumber(leaf.sum!)}\n`;
    text += `${m.name}_count${braces(pairs)} ${leaf.value}\n`;
  }
  return text;
}

const braces = (pairs: string[]): string => (pairs.length === 0 ? "" : `{${pairs.join(",")}}`);

// Exposition format 0.0.4: label values escape backslash, double quote and newline; help text
// escapes backslash and newline.
const escapeLabel = (v: string): string => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
const escapeHelp = (v: string): string => v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}
