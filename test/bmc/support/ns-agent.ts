/**
 * A test agent for a namespace's wispd: `bun ns-agent.ts <grpc host:port> <token> <worker>`
 * asks for actions over gRPC (Tinkerbell's proto.WorkflowService, test/grpc/agent-client.ts)
 * and reports each RUNNING then SUCCESS until there is no more work; prints one line a report.
 * Bounded: gives up (exit 1) when no action comes within 60 s.
 */
import { agentClient, statusFor, timestamp } from "../../grpc/agent-client.ts";

const [address, token, worker] = process.argv.slice(2) as [string, string, string];
const client = agentClient(address, { token });
const deadline = Date.now() + 60_000;
let done = 0;
for (;;) {
  const r = await client.getAction({ agentId: worker });
  if (r.code !== 0) {
    if (done > 0) break; // nothing more for this worker: the workflow has ended
    if (Date.now() > deadline) {
      console.log(`no action: ${r.code} ${r.details}`);
      process.exit(1);
    }
    await Bun.sleep(500);
    continue;
  }
  const action = r.value!;
  const start = new Date();
  for (const state of ["RUNNING", "SUCCESS"]) {
    const rep = await client.reportActionStatus(statusFor(action, state, { executionStart: timestamp(start), ...(state === "SUCCESS" ? { executionStop: timestamp(new Date()) } : {}) }));
    if (rep.code !== 0) {
      console.log(`report ${state} failed: ${rep.code} ${rep.details}`);
      process.exit(1);
    }
    console.log(`${action.name} ${state}`);
  }
  done++;
}
client.close();
