/**
 * A checker for generated iPXE scripts, following iPXE's own reading of a script
 * (src/image/script.c, src/core/exec.c): `#!ipxe` first; a trailing backslash joins lines; a
 * line may start with `:label`; tokens are split at white space with no quoting; a token
 * starting with `#` comments out the rest of the line; `&&`, `||` and `;` separate commands;
 * `${...}` expands settings. No offline iPXE parser exists, so this holds each command to a
 * fixed list with its arguments, every `goto` to a label that exists, and every `${name}` to a
 * setting the script sets or iPXE provides.
 */

/** iPXE's commands (the COMMAND(...) table of its source); the scripts use a few of them. */
export const IPXE_COMMANDS = new Set([
  "autoboot", "boot", "chain", "choose", "clear", "colour", "console", "cpair", "dhcp", "echo", "exit", "goto", "ifclose",
  "ifconf", "ifopen", "ifstat", "imgargs", "imgexec", "imgfetch", "imgfree", "imgload", "imgselect", "imgstat", "imgtrust",
  "imgverify", "inc", "initrd", "iseq", "isset", "item", "kernel", "login", "menu", "module", "nslookup", "ntp", "param",
  "params", "ping", "poweroff", "prompt", "read", "reboot", "route", "sanboot", "sanhook", "sanunhook", "set", "shell",
  "show", "sleep", "sync", "time",
]);

/** Settings iPXE itself provides (per network device under `netX/` or `net<N>/`). */
const BUILTIN_SETTINGS = new Set(["buildarch", "platform", "mac", "ip", "netmask", "gateway", "filename", "next-server", "user-class", "uuid", "hostname"]);

// `set` types (https://ipxe.org/cfg): name[:type].
const SETTING_TYPES = new Set(["string", "uristring", "ipv4", "ipv6", "int8", "int16", "int32", "uint8", "uint16", "uint32", "hex", "hexhyp", "hexraw", "uuid", "base64", "busdevfn"]);

// Options the image commands take (imgfetch family).
const IMAGE_OPTIONS = new Set(["--name", "-n", "--autofree", "-a", "--replace", "-r", "--timeout", "-t"]);

interface Command {
  line: number;
  argv: string[];
}

/** The problems found; empty when every line is one iPXE accepts and every reference resolves. */
export function checkIpxeScript(text: string): string[] {
  const problems: string[] = [];
  const rawLines = text.split("\n");
  if (rawLines[0]?.replace(/\r$/, "") !== "#!ipxe") problems.push('line 1: the script must start with "#!ipxe"');
  const labels = new Set<string>();
  const commands: Command[] = [];
  let joined = "";
  for (let i = 1; i < rawLines.length; i++) {
    let line = rawLines[i]!.replace(/\r$/, "");
    if (line.endsWith("\\")) {
      joined += line.slice(0, -1);
      continue;
    }
    line = joined + line;
    joined = "";
    let rest = line.trimStart();
    if (rest.startsWith(":")) {
      const m = /^:(\S*)\s*(.*)$/.exec(rest)!;
      if (m[1] === "") problems.push(`line ${i + 1}: empty label`);
      labels.add(m[1]!);
      rest = m[2]!;
    }
    const tokens = rest.split(/\s+/).filter((t) => t !== "");
    const comment = tokens.findIndex((t) => t.startsWith("#"));
    const live = comment < 0 ? tokens : tokens.slice(0, comment);
    let argv: string[] = [];
    for (const t of [...live, ";"]) {
      if (t === "&&" || t === "||" || t === ";") {
        if (argv.length > 0) commands.push({ line: i + 1, argv });
        argv = [];
      } else {
        argv.push(t);
      }
    }
  }
  const setNames = new Set<string>();
  for (const c of commands) if (c.argv[0] === "set" && c.argv[1]) setNames.add(c.argv[1].split(":")[0]!);
  for (const c of commands) problems.push(...checkCommand(c, labels, setNames));
  return problems;
}

function checkCommand({ line, argv }: Command, labels: Set<string>, setNames: Set<string>): string[] {
  const out: string[] = [];
  const at = `line ${line}: ${argv.join(" ")}`;
  const [name, ...args] = argv as [string, ...string[]];
  if (!IPXE_COMMANDS.has(name)) out.push(`${at}: unknown command "${name}"`);
  for (const token of argv) out.push(...checkExpansions(token, setNames).map((p) => `${at}: ${p}`));
  const arity = (min: number, max: number) => {
    if (args.length < min || args.length > max) out.push(`${at}: ${name} takes ${min}-${max} arguments, got ${args.length}`);
  };
  switch (name) {
    case "goto":
      arity(1, 1);
      if (args[0] !== undefined && !labels.has(args[0])) out.push(`${at}: no label ":${args[0]}"`);
      break;
    case "iseq":
      arity(2, 2);
      break;
    case "isset":
    case "inc":
      arity(1, name === "inc" ? 2 : 1);
      break;
    case "sleep":
      arity(1, 1);
      if (args[0] !== undefined && !/^(\d+|\$\{[^}]+\})$/.test(args[0])) out.push(`${at}: sleep needs seconds`);
      break;
    case "exit":
      arity(0, 1);
      if (args[0] !== undefined && !/^\d+$/.test(args[0])) out.push(`${at}: exit takes a number`);
      break;
    case "set": {
      if (args.length < 1) out.push(`${at}: set needs a setting name`);
      const [setting, type] = (args[0] ?? "").split(":");
      if (!/^[a-z0-9/._-]+$/i.test(setting!)) out.push(`${at}: bad setting name "${setting}"`);
      if (type !== undefined && !SETTING_TYPES.has(type)) out.push(`${at}: unknown setting type "${type}"`);
      if (type?.startsWith("int") && args[1] !== undefined && !/^-?\d+$/.test(args[1])) out.push(`${at}: ${type} needs a number`);
      break;
    }
    case "kernel":
    case "initrd":
    case "chain":
    case "imgfetch": {
      // Options come before the URI; what follows it is the image's command line.
      let i = 0;
      for (; i < args.length && args[i]!.startsWith("-"); i++) {
        if (!IMAGE_OPTIONS.has(args[i]!)) out.push(`${at}: unknown option ${args[i]}`);
        if (["--name", "-n", "--timeout", "-t"].includes(args[i]!)) i++;
      }
      const uri = args[i];
      if (uri === undefined) out.push(`${at}: ${name} needs a URI`);
      else if (!/^(https?|tftp):\/\/|^\$\{/.test(uri)) out.push(`${at}: ${name} URI "${uri}" is not http(s), tftp or a setting`);
      break;
    }
    case "boot":
    case "imgfree":
    case "dhcp":
      arity(0, 1);
      break;
  }
  return out;
}

// `${name}` and `${scope/name:type}`, nested as in `${net${idx}/ip}`; every one must close.
function checkExpansions(token: string, setNames: Set<string>): string[] {
  const out: string[] = [];
  let depth = 0;
  for (let i = 0; i < token.length; i++) {
    if (token.startsWith("${", i)) {
      depth++;
      i++;
    } else if (token[i] === "}" && depth > 0) {
      depth--;
    }
  }
  if (depth !== 0) out.push(`unclosed \${ in "${token}"`);
  for (const m of token.matchAll(/\$\{([^${}]+)\}/g)) {
    const ref = m[1]!.split(":")[0]!;
    const setting = ref.includes("/") ? ref.slice(ref.lastIndexOf("/") + 1) : ref;
    const scope = ref.includes("/") ? ref.slice(0, ref.lastIndexOf("/")) : undefined;
    if (scope !== undefined && !/^net(X|\d+)$/.test(scope)) out.push(`unknown settings scope "${scope}"`);
    if (!setNames.has(setting) && !BUILTIN_SETTINGS.has(setting)) out.push(`\${${ref}} is never set and not an iPXE setting`);
  }
  return out;
}

/** How a run of a script ended. */
export interface IpxeRun {
  /** Each command executed, after expansion, in order. */
  trace: string[];
  /** `booted`: `boot` succeeded; a number: `exit` (or the failing command's status). */
  end: "booted" | "end-of-script" | { exit: number } | { failed: string };
  /** Settings at the end. */
  settings: Record<string, string>;
}

/** What the network does: whether a `kernel`, `initrd`, `chain`, `dhcp` or `boot` succeeds (attempt counts from 1). */
export type Network = (command: string, attempt: number, settings: Record<string, string>) => boolean;

/**
 * Runs a script the way iPXE's shell does (src/core/exec.c system(), src/image/script.c): a
 * line's commands run left to right, `&&` runs the next only after success, `||` only after
 * failure, `;` always, a skipped command keeps the last status; `goto` ends the line and
 * continues at its label; a line whose last status is a failure ends the script; an empty
 * command succeeds. Downloads and boot are decided by `network`.
 */
export function runIpxeScript(text: string, network: Network, initial: Record<string, string> = {}, maxSteps = 10_000): IpxeRun {
  const lines = scriptLines(text);
  const settings: Record<string, string> = { buildarch: "x86_64", ...initial };
  const trace: string[] = [];
  const attempts = new Map<string, number>();
  let steps = 0;
  let pc = 1; // line 0 is #!ipxe
  while (pc < lines.length) {
    const { segments } = lines[pc]!;
    pc++;
    let rc = 0;
    let process = true;
    let jumped = false;
    for (const { argv, next } of segments) {
      if (process) {
        if (++steps > maxSteps) throw new Error("script does not end");
        const words = argv.map((t) => expand(t, settings));
        trace.push(words.join(" "));
        const [name, ...args] = words;
        if (name === undefined) rc = 0;
        else if (name === "goto") {
          const target = lines.findIndex((l) => l.label === args[0]);
          if (target < 0) return { trace, end: { failed: `no label ${args[0]}` }, settings };
          pc = target;
          jumped = true;
          rc = 0;
          break;
        } else if (name === "exit") {
          return { trace, end: { exit: Number(args[0] ?? 0) }, settings };
        } else if (name === "set") {
          settings[args[0]!.split(":")[0]!] = args.slice(1).join(" ");
          rc = 0;
        } else if (name === "iseq") rc = args[0] === args[1] ? 0 : 1;
        else if (name === "isset") rc = (args[0] ?? "") !== "" ? 0 : 1;
        else if (name === "inc") {
          settings[args[0]!] = String(Number(settings[args[0]!] ?? 0) + Number(args[1] ?? 1));
          rc = 0;
        } else if (["echo", "sleep", "imgfree"].includes(name)) rc = 0;
        else if (["kernel", "initrd", "chain", "dhcp", "boot"].includes(name)) {
          const n = (attempts.get(name) ?? 0) + 1;
          attempts.set(name, n);
          rc = network(name, n, settings) ? 0 : 1;
          if (name === "boot" && rc === 0) return { trace, end: "booted", settings };
        } else rc = 1;
      }
      if (next === undefined) break;
      process = next === ";" || (next === "&&" ? rc === 0 : rc !== 0);
    }
    if (!jumped && rc !== 0) return { trace, end: { failed: `line ${pc}` }, settings };
  }
  return { trace, end: "end-of-script", settings };
}

interface ScriptLine {
  label?: string;
  segments: { argv: string[]; next?: "&&" | "||" | ";" }[];
}

function scriptLines(text: string): ScriptLine[] {
  const out: ScriptLine[] = [];
  for (const raw of text.replaceAll("\\\n", "").split("\n")) {
    let rest = raw.replace(/\r$/, "").trimStart();
    let label: string | undefined;
    if (rest.startsWith(":")) {
      const m = /^:(\S*)\s*(.*)$/.exec(rest)!;
      label = m[1];
      rest = m[2]!;
    }
    const tokens = rest.split(/\s+/).filter((t) => t !== "");
    const comment = tokens.findIndex((t) => t.startsWith("#"));
    const live = comment < 0 ? tokens : tokens.slice(0, comment);
    const segments: ScriptLine["segments"] = [];
    let argv: string[] = [];
    for (const t of live) {
      if (t === "&&" || t === "||" || t === ";") {
        segments.push({ argv, next: t });
        argv = [];
      } else argv.push(t);
    }
    segments.push({ argv });
    out.push({ label, segments });
  }
  return out;
}

// Innermost first, as iPXE's expand_settings does; an unknown setting expands to nothing.
function expand(token: string, settings: Record<string, string>): string {
  let t = token;
  for (let m = /\$\{([^${}]*)\}/.exec(t); m; m = /\$\{([^${}]*)\}/.exec(t)) {
    const name = m[1]!.split(":")[0]!;
    t = t.slice(0, m.index) + (settings[name] ?? "") + t.slice(m.index + m[0].length);
  }
  return t;
}
