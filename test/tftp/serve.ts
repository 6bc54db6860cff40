/**
 * A TFTP server as a program, for tests that run it inside a network namespace:
 * `bun test/tftp/serve.ts --address A --port P --artifacts DIR [--ipxe DIR]`. Prints
 * `{"listening":port}` once bound; on SIGTERM stops (ending open transfers), prints `{"metrics":{name:value}}` and exits 0.
 */
import { silentLogger } from "../../daemon/lib/log.ts";
import { createMetricsRegistry } from "../../daemon/lib/metrics.ts";
import { createFileSource } from "../../daemon/tftp/files.ts";
import { startTftpServer } from "../../daemon/tftp/server.ts";

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const metrics = createMetricsRegistry();
const server = await startTftpServer({
  hostname: arg("address") ?? "0.0.0.0",
  port: Number(arg("port") ?? 69),
  files: createFileSource({ artifactsDir: arg("artifacts"), ipxeDir: arg("ipxe") }),
  logger: silentLogger(),
  metrics,
});
console.log(JSON.stringify({ listening: server.port }));
// Metrics are read after stop(), so a transfer that the stop ended is counted as "stopped".
process.on("SIGTERM", () => {
  void server.stop().then(() => {
    const values: Record<string, number> = {};
    for (const line of metrics.render().split("\n")) {
      const m = /^(wisp_tftp_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
      if (m) values[m[1]!] = Number(m[2]);
    }
    console.log(JSON.stringify({ metrics: values }));
    process.exit(0);
  });
});
