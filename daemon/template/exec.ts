/**
 * The evaluator: walks parse trees over data with Go's text/template semantics and
 * missingkey=error — field chains on maps, variables with lexical scoping, if/with/range
 * (sorted map keys, break/continue, else), template calls, pipelines feeding the last argument,
 * type-checked function calls, short-circuit and/or. Errors read as Go's:
 * `template: <name>:<line>:<col>: executing "<tmpl>" at <node>: <what>`.
 * Every render has a byte cap on output, a work budget and a template-call depth limit.
 */
import type { Result } from "../lib/result.ts";
import { err, ok } from "../lib/result.ts";
import type { AnyNode, ArgNode, BranchNode, ChainNode, CommandNode, IdentifierNode, ListNode, Node, PipeNode, TemplateNode, VariableNode } from "./ast.ts";
import { nodeString } from "./ast.ts";
import type { TemplateError } from "./errors.ts";
import { BudgetError, locate, TemplateFailure } from "./errors.ts";
import type { CallContext, FuncSpec, Param } from "./func-spec.ts";
import { formatValue, printValue } from "./format.ts";
import type { TemplateSet } from "./parser.ts";
import { goQuote } from "./quote.ts";
import type { GoMap } from "./values.ts";
import { Float64, isMap, isNil, isNumber, isTrue, kindOf, mapGet, numberOf, sortedEntries, typeName, unmetered } from "./values.ts";

/** The limits one render runs under. */
export interface ExecLimits {
  /** Output bytes; also the largest string a function may build. */
  maxBytes: number;
  /** Units of work (nodes, iterations, function results by size). */
  maxSteps: number;
  /** Nested {{template}} calls. */
  maxDepth: number;
}

/** What a source, once parsed, runs with. */
export interface Program {
  source: string;
  name: string;
  trees: TemplateSet;
  funcs: ReadonlyMap<string, FuncSpec>;
}

/** Executes the template `program.name` over `data`. */
export function execute(program: Program, data: unknown, limits: ExecLimits): Result<string, TemplateError> {
  const root = program.trees.get(program.name) ?? { type: "list", pos: 0, nodes: [] };
  const run = new Run(program, limits);
  try {
    run.walkList({ tmpl: program.name, vars: [{ name: "$", value: data }], depth: 0 }, data, root);
    return ok(run.output());
  } catch (e) {
    if (e instanceof TemplateFailure) return err(e.error);
    throw e;
  }
}

/** "No value piped in", as distinct from a piped nil (Go's missingVal). */
const MISSING = Symbol("missing");

/** Variables and the template being executed; each {{template}} call gets a fresh frame. */
interface Frame {
  tmpl: string;
  vars: { name: string; value: unknown }[];
  depth: number;
}

/** How a walk ended: normally, or by {{break}} / {{continue}} on its way to the range. */
type Signal = "" | "break" | "continue";

const GO_TYPES: Record<Param, string> = { any: "interface {}", string: "string", int: "int", float: "float64", bool: "bool", map: "map[string]interface {}" };

class Run {
  private readonly out: string[] = [];
  private bytes = 0;
  private steps = 0;
  private readonly ctx: CallContext;

  constructor(
    private readonly program: Program,
    private readonly limits: ExecLimits,
  ) {
    this.ctx = {
      maxBytes: limits.maxBytes,
      charge: (units) => {
        this.steps += units;
        if (this.steps > limits.maxSteps) throw new BudgetError(`execution exceeded ${limits.maxSteps} steps`);
      },
    };
  }

  output(): string {
    return this.out.join("");
  }

  private fail(frame: Frame, node: AnyNode, what: string): never {
    const { line, column } = locate(this.program.source, node.pos);
    const text = Array.from(nodeString(node));
    const context = text.length > 20 ? text.slice(0, 20).join("") + "..." : text.join("");
    const message = `template: ${this.program.name}:${line}:${column}: executing ${goQuote(frame.tmpl)} at <${context}>: ${what}`;
    throw new TemplateFailure({ message, line, column });
  }

  private tick(frame: Frame, node: AnyNode, units: number): void {
    this.steps += units;
    if (this.steps > this.limits.maxSteps) this.fail(frame, node, `execution exceeded ${this.limits.maxSteps} steps`);
  }

  private write(frame: Frame, node: AnyNode, s: string): void {
    const n = s.length < 128 && /^[\x00-\x7f]*$/.test(s) ? s.length : Buffer.byteLength(s, "utf8");
    if (this.bytes + n > this.limits.maxBytes) this.fail(frame, node, `rendered output exceeds ${this.limits.maxBytes} bytes`);
    this.bytes += n;
    this.out.push(s);
  }

  walkList(frame: Frame, dot: unknown, list: ListNode): Signal {
    for (const n of list.nodes) {
      const signal = this.walk(frame, dot, n);
      if (signal) return signal;
    }
    return "";
  }

  private walk(frame: Frame, dot: unknown, node: Node): Signal {
    this.tick(frame, node, 1);
    switch (node.type) {
      case "text":
        this.write(frame, node, node.text);
        return "";
      case "action": {
        const v = this.evalPipeline(frame, dot, node.pipe);
        if (node.pipe.decl.length === 0) this.write(frame, node, printValue(v, (n) => this.tick(frame, node, n)));
        return "";
      }
      case "if":
      case "with":
        return this.walkIfOrWith(frame, dot, node);
      case "range":
        return this.walkRange(frame, dot, node);
      case "template":
        this.walkTemplate(frame, dot, node);
        return "";
      case "break":
      case "continue":
        return node.type;
    }
  }

  private walkIfOrWith(frame: Frame, dot: unknown, node: BranchNode): Signal {
    const mark = frame.vars.length;
    const val = this.evalPipeline(frame, dot, node.pipe);
    let signal: Signal = "";
    if (isTrue(val)) signal = this.walkList(frame, node.type === "with" ? val : dot, node.list);
    else if (node.elseList) signal = this.walkList(frame, dot, node.elseList);
    frame.vars.length = mark;
    return signal;
  }

  private walkRange(frame: Frame, dot: unknown, r: BranchNode): Signal {
    const mark = frame.vars.length;
    const val = this.evalPipeline(frame, dot, r.pipe);
    const inner = frame.vars.length;
    const decl = r.pipe.decl;
    const one = (index: unknown, elem: unknown): Signal => {
      this.tick(frame, r, 1);
      // Declared variables were pushed by the pipeline; each iteration overwrites them.
      const [first, second] = decl;
      if (first) {
        if (r.pipe.isAssign) this.setVar(frame, first, second ? index : elem);
        else (frame.vars[inner - 1] as { value: unknown }).value = elem;
      }
      if (second) {
        if (r.pipe.isAssign) this.setVar(frame, second, elem);
        else (frame.vars[inner - 2] as { value: unknown }).value = index;
      }
      const signal = this.walkList(frame, elem, r.list);
      frame.vars.length = inner;
      return signal;
    };
    let ran = false;
    const loop = (items: Iterable<[unknown, unknown]>): void => {
      for (const [i, e] of items) {
        ran = true;
        if (one(i, e) === "break") return;
      }
    };
    switch (kindOf(val)) {
      case "slice":
        loop((val as unknown[]).entries());
        break;
      case "map":
        loop(sortedEntries(val as GoMap));
        break;
      case "int":
        if (decl.length > 1) this.fail(frame, r, `can't use ${formatValue(val, unmetered)} to iterate over more than one variable`);
        loop(counter(Number(val)));
        break;
      case "nil":
        break;
      default:
        this.fail(frame, r, `range can't iterate over ${formatValue(val, unmetered)}`);
    }
    const signal = !ran && r.elseList ? this.walkList(frame, dot, r.elseList) : "";
    frame.vars.length = mark;
    return signal;
  }

  private walkTemplate(frame: Frame, dot: unknown, t: TemplateNode): void {
    const tree = this.program.trees.get(t.name);
    if (!tree) this.fail(frame, t, `template ${goQuote(t.name)} not defined`);
    if (frame.depth >= this.limits.maxDepth) this.fail(frame, t, `exceeded maximum template depth (${this.limits.maxDepth})`);
    const value = t.pipe ? this.evalPipeline(frame, dot, t.pipe) : null;
    // No dynamic scoping: the called template sees only $ (its dot).
    this.walkList({ tmpl: t.name, vars: [{ name: "$", value }], depth: frame.depth + 1 }, value, tree);
  }

  private evalPipeline(frame: Frame, dot: unknown, pipe: PipeNode): unknown {
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(frame, dot, cmd, value);
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(frame, v, value);
      else frame.vars.push({ name: v.ident[0] as string, value });
    }
    return value;
  }

  private evalCommand(frame: Frame, dot: unknown, cmd: CommandNode, final: unknown): unknown {
    this.tick(frame, cmd, 1);
    const first = cmd.args[0] as ArgNode;
    const hasArgs = cmd.args.length > 1 || final !== MISSING;
    switch (first.type) {
      case "field":
        return this.evalFieldChain(frame, first, dot, first.ident, hasArgs);
      case "chain":
        return this.evalChain(frame, dot, first, hasArgs);
      case "identifier":
        return this.evalFunction(frame, dot, first, cmd, cmd.args.slice(1), final);
      case "variable":
        return this.evalVariable(frame, first, hasArgs);
    }
    if (hasArgs) this.fail(frame, first, `can't give argument to non-function ${nodeString(first)}`);
    switch (first.type) {
      case "pipe":
        return this.evalPipeline(frame, dot, first);
      case "nil":
        this.fail(frame, first, "nil is not a command");
      case "dot":
        return dot;
      case "bool":
        return first.value;
      case "number":
        return first.value;
      case "string":
        return first.text;
    }
  }

  private evalFieldChain(frame: Frame, node: AnyNode, receiver: unknown, idents: readonly string[], hasArgs: boolean): unknown {
    let cur = receiver;
    idents.forEach((name, i) => (cur = this.evalField(frame, node, name, cur, hasArgs && i === idents.length - 1)));
    return cur;
  }

  private evalField(frame: Frame, node: AnyNode, name: string, receiver: unknown, hasArgs: boolean): unknown {
    if (isNil(receiver)) this.fail(frame, node, `nil pointer evaluating interface {}.${name}`);
    if (!isMap(receiver)) this.fail(frame, node, `can't evaluate field ${name} in type ${typeName(receiver)}`);
    if (hasArgs) this.fail(frame, node, `${name} is not a method but has arguments`);
    const r = mapGet(receiver, name);
    if (!r.found) this.fail(frame, node, `map has no entry for key ${goQuote(name)}`);
    return r.value ?? null;
  }

  private evalChain(frame: Frame, dot: unknown, chain: ChainNode, hasArgs: boolean): unknown {
    if (chain.node.type === "nil") this.fail(frame, chain, `indirection through explicit nil in ${nodeString(chain)}`);
    const base = this.evalArg(frame, dot, "any", chain.node);
    return this.evalFieldChain(frame, chain, base, chain.field, hasArgs);
  }

  private evalVariable(frame: Frame, v: VariableNode, hasArgs: boolean): unknown {
    const value = this.varValue(frame, v);
    if (v.ident.length === 1) {
      if (hasArgs) this.fail(frame, v, `can't give argument to non-function ${nodeString(v)}`);
      return value;
    }
    return this.evalFieldChain(frame, v, value, v.ident.slice(1), hasArgs);
  }

  private varIndex(frame: Frame, v: VariableNode): number {
    const name = v.ident[0];
    for (let i = frame.vars.length - 1; i >= 0; i--) if (frame.vars[i]?.name === name) return i;
    this.fail(frame, v, `undefined variable: ${name}`);
  }

  private varValue(frame: Frame, v: VariableNode): unknown {
    return frame.vars[this.varIndex(frame, v)]?.value;
  }

  private setVar(frame: Frame, v: VariableNode, value: unknown): void {
    (frame.vars[this.varIndex(frame, v)] as { value: unknown }).value = value;
  }

  private evalFunction(frame: Frame, dot: unknown, ident: IdentifierNode, cmd: AnyNode, args: ArgNode[], final: unknown): unknown {
    const name = ident.name;
    const spec = this.program.funcs.get(name);
    if (!spec) this.fail(frame, ident, `${goQuote(name)} is not a defined function`);
    const numIn = args.length + (final !== MISSING ? 1 : 0);
    const fixed = spec.params.length;
    if (spec.rest ? numIn < fixed : numIn !== fixed) {
      this.fail(frame, ident, `wrong number of args for ${name}: want ${spec.rest ? "at least " : ""}${fixed} got ${numIn}`);
    }
    if (spec.special) return this.evalAndOr(frame, dot, spec.special, args, final);
    const paramAt = (i: number): Param => spec.params[i] ?? spec.rest ?? "any";
    const argv = args.map((a, i) => this.evalArg(frame, dot, paramAt(i), a));
    if (final !== MISSING) argv.push(this.validate(frame, cmd, final, paramAt(argv.length)));
    let result: unknown;
    try {
      result = spec.call(argv, this.ctx);
    } catch (e) {
      if (e instanceof RangeError || e instanceof TemplateFailure) throw e;
      this.fail(frame, cmd, `error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.chargeResult(frame, cmd, name, result);
    return result ?? null;
  }

  /** Counts a result's size as work, and refuses strings beyond the output cap. */
  private chargeResult(frame: Frame, cmd: AnyNode, name: string, result: unknown): void {
    if (typeof result === "string") {
      if (result.length * 3 > this.limits.maxBytes && Buffer.byteLength(result, "utf8") > this.limits.maxBytes) {
        this.fail(frame, cmd, `error calling ${name}: result exceeds ${this.limits.maxBytes} bytes`);
      }
      this.tick(frame, cmd, 1 + (result.length >> 6));
    } else {
      this.tick(frame, cmd, 1 + (Array.isArray(result) ? result.length : 0));
    }
  }

  /** and/or: arguments are evaluated only until the answer is known. */
  private evalAndOr(frame: Frame, dot: unknown, kind: "and" | "or", args: ArgNode[], final: unknown): unknown {
    let v: unknown = null;
    for (const a of args) {
      v = this.evalArg(frame, dot, "any", a);
      if (isTrue(v) === (kind === "or")) return v;
    }
    return final !== MISSING ? final : v;
  }

  private evalArg(frame: Frame, dot: unknown, param: Param, n: ArgNode): unknown {
    switch (n.type) {
      case "dot":
        return this.validate(frame, n, dot, param);
      case "nil":
        if (param === "any" || param === "map") return null;
        this.fail(frame, n, `cannot assign nil to ${GO_TYPES[param]}`);
      case "field":
        return this.validate(frame, n, this.evalFieldChain(frame, n, dot, n.ident, false), param);
      case "variable":
        return this.validate(frame, n, this.evalVariable(frame, n, false), param);
      case "pipe":
        return this.validate(frame, n, this.evalPipeline(frame, dot, n), param);
      case "identifier":
        return this.validate(frame, n, this.evalFunction(frame, dot, n, n, [], MISSING), param);
      case "chain":
        return this.validate(frame, n, this.evalChain(frame, dot, n, false), param);
      case "bool":
        return this.validate(frame, n, n.value, param);
      case "number":
        return this.validate(frame, n, n.value, param);
      case "string":
        return this.validate(frame, n, n.text, param);
    }
  }

  /** Go's check that an argument fits the parameter's type. */
  private validate(frame: Frame, node: AnyNode, value: unknown, param: Param): unknown {
    switch (param) {
      case "any":
        return value;
      case "string":
        if (typeof value === "string") return value;
        break;
      case "int":
        if (kindOf(value) === "int") return Number(value);
        if (value instanceof Float64 && Number.isSafeInteger(value.value)) return value.value;
        break;
      case "float":
        if (isNumber(value)) return numberOf(value);
        break;
      case "bool":
        if (typeof value === "boolean") return value;
        break;
      case "map":
        if (isNil(value) || isMap(value)) return value ?? null;
        break;
    }
    if (isNil(value)) this.fail(frame, node, `invalid value; expected ${GO_TYPES[param]}`);
    this.fail(frame, node, `wrong type for value; expected ${GO_TYPES[param]}; got ${typeName(value)}`);
  }
}

/** 0, 1, … n-1 as range pairs (Go 1.22 ranges over integers). */
function* counter(n: number): Generator<[number, number]> {
  for (let i = 0; i < n; i++) yield [i, i];
}
