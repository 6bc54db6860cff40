// Runs a TypeScript entry point of this package under the Bun runtime that npm installed
// beside it (the `bun` devDependency), so `npx wispd` works on a machine with only Node and npm.
"use strict";
const { spawn } = require("node:child_process");
const { existsSync } = require("node:fs");
const { join } = require("node:path");

function findBun() {
  try {
    const pkg = require.resolve("bun/package.json", { paths: [join(__dirname, "..")] });
    const exe = join(pkg, "..", "bin", "bun.exe");
    if (existsSync(exe)) return exe;
  } catch {
    // Not installed as a dependency: fall back to a bun on PATH.
  }
  return "bun";
}

module.exports = function runBun(entry) {
  const child = spawn(findBun(), [join(__dirname, "..", entry), ...process.argv.slice(2)], { stdio: "inherit" });
  // SIGUSR2: wispd logs a memory report (daemon/ops/memory-report.ts).
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP", "SIGUSR2"]) process.on(sig, () => child.kill(sig));
  child.on("error", (e) => {
    console.error(`cannot start bun (${e.message}); run "npm install" in ${join(__dirname, "..")}`);
    process.exit(127);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
};
