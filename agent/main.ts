/**
 * wisp-agent: runs workflow actions inside the Hook. The agent itself lands with the agent and
 * workflow service work (see docs/architecture.md); until then this entry point says so plainly.
 */
const HELP = `usage: wisp-agent [options]

The Wisp agent runs inside the in-memory OS (Hook), asks wispd for actions over gRPC and runs
them through the Docker Engine API. It is not implemented yet in this version of Wisp.`;

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(HELP);
} else {
  console.error("wisp-agent: not implemented yet in this version (see wisp-agent --help)");
  process.exitCode = 2;
}
