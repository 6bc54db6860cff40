/**
 * The TFTP load generator: runs `--count` transfers of one file at once with the RFC 7440 client
 * of the tests, `--repeat` times in a row, checks every file's SHA-256 and prints one JSON line:
 * each batch's wall time (first request to last block) and each transfer's time and outcome.
 *
 *   bun bench/tftp/load.ts --port P --file F --sha256 H [--count 1] [--repeat 1] [--blksize 1468] [--windowsize N]
 */
import { parseArgs } from "node:util";
import { tftpGet } from "../../test/support/tftp-client.ts";

/** One batch of concurrent transfers. */
export interface LoadBatch {
  wallMs: number;
  transferMs: number[];
  failures: number;
  /** The first few failures' reasons. */
  errors: string[];
  /** DATA packets received more than once (the server retransmitted). */
  duplicateData: number;
}

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    file: { type: "string" },
    sha256: { type: "string" },
    count: { type: "string", default: "1" },
    repeat: { type: "string", default: "1" },
    blksize: { type: "string", default: "1468" },
    windowsize: { type: "string" },
    "timeout-ms": { type: "string", default: "1000" },
  },
});
const options: Record<string, string> = { blksize: values.blksize! };
if (values.windowsize) options.windowsize = values.windowsize;

const batches: LoadBatch[] = [];
for (let r = 0; r < Number(values.repeat); r++) {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: Number(values.count) }, async () => {
      const t0 = performance.now();
      const res = await tftpGet({ host: values.host!, port: Number(values.port), filename: values.file!, options, timeoutMs: Number(values["timeout-ms"]), retries: 8, deadlineMs: 300_000 });
      const ok = res.ok && (values.sha256 === undefined || res.sha256 === values.sha256);
      return { ms: performance.now() - t0, ok, error: ok ? undefined : (res.error?.message ?? "wrong bytes"), duplicateData: res.duplicateData };
    }),
  );
  batches.push({
    wallMs: performance.now() - started,
    transferMs: results.map((x) => x.ms),
    failures: results.filter((x) => !x.ok).length,
    errors: [...new Set(results.flatMap((x) => (x.error ? [x.error] : [])))].slice(0, 5),
    duplicateData: results.reduce((a, x) => a + x.duplicateData, 0),
  });
}
console.log(JSON.stringify(batches));
