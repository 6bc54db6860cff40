/** The API bearer token: given by flag, or generated once into the data directory (mode 0600). */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** File name of the generated token inside the data directory. */
export const TOKEN_FILE = "api-token";

/** Returns the configured token, or the one stored in `dataDir` as `file` (creating it on first start; the agent token uses it too). */
export function resolveApiToken(dataDir: string, configured?: string, file = TOKEN_FILE): { token: string; path?: string; created: boolean } {
  if (configured) return { token: configured, created: false };
  const path = join(dataDir, file);
  if (existsSync(path)) {
    // A token readable by others would let any local user drive the provisioner.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    const token = readFileSync(path, "utf8").trim();
    if (token) return { token, path, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString("base64url");
  writeFileSync(path, token + "\n", { mode: 0o600 });
  return { token, path, created: true };
}

/** Constant-time check of an `Authorization` header against the token. */
export function checkBearer(header: string | null | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
