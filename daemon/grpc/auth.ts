/**
 * Agent authentication (beyond Tinkerbell, whose agents send no credentials): one shared token
 * in the gRPC metadata `authorization: Bearer <token>`, checked in constant time.
 */
import { checkBearer } from "../api/token.ts";

/** The `--agent-auth` modes. */
export const AGENT_AUTH_MODES = ["token", "off"] as const;
export type AgentAuthMode = (typeof AGENT_AUTH_MODES)[number];

/** Default `--agent-auth`: a token, so that nobody on the provisioning network can read actions or end workflows. */
export const DEFAULT_AGENT_AUTH: AgentAuthMode = "token";
/** File name of the generated agent token inside the data directory. */
export const AGENT_TOKEN_FILE = "agent-token";

/** How the service checks callers. */
export type AgentAuth = { mode: "token"; token: string } | { mode: "off" };

/** Why a call's metadata is refused (UNAUTHENTICATED), or undefined when it may go on. */
export function checkAgentAuth(authorization: readonly (string | Buffer)[], auth: AgentAuth): string | undefined {
  if (auth.mode === "off") return undefined;
  if (authorization.length === 0) {
    return "agent token missing: send metadata authorization: Bearer <token> (wispd --agent-token), or run wispd with --agent-auth off";
  }
  const header = authorization[0];
  if (authorization.length > 1 || typeof header !== "string" || !checkBearer(header, auth.token)) return "agent token is wrong";
  return undefined;
}
