/**
 * The parser: tokens to parse trees, following Go's text/template/parse: actions, control
 * structures (if/else if/with/else with/range/break/continue), define/template/block, pipelines
 * with declarations, and the checks Go makes at parse time (undefined functions and variables,
 * misplaced else/end/break, non-executable pipeline stages).
 */
import type { Result } from "../lib/result.ts";
import { err, ok } from "../lib/result.ts";
import type { ArgNode, BranchNode, CommandNode, ListNode, Node, PipeNode, VariableNode } from "./ast.ts";
import { nodeString } from "./ast.ts";
import type { TemplateError } from "./errors.ts";
import { locatedError, TemplateFailure } from "./errors.ts";
import type { Token, TokenType } from "./lexer.ts";
import { KEYWORD_TYPES, lex } from "./lexer.ts";
import { parseNumber, unquote } from "./literal.ts";
import { goQuote, goQuoteTruncated } from "./quote.ts";

/** Control structures and parentheses nested deeper than this are refused, as Go refuses them. */
export const MAX_NESTING = 500;

/** The templates of one source by name: the main body, and every define and block. */
export type TemplateSet = ReadonlyMap<string, ListNode>;

/** Parses `source` as the template `name`; `isFunction` says which function names exist. */
export function parseTemplate(source: string, name: string, isFunction: (fn: string) => boolean): Result<TemplateSet, TemplateError> {
  try {
    return ok(new Parser(source, name, lex(source), isFunction).parse());
  } catch (e) {
    if (e instanceof TemplateFailure) return err(e.error);
    throw e;
  }
}

/** What `{{end}}` and `{{else}}` parse to before their control structure consumes them. */
type Marker = { type: "end" | "else"; pos: number };

const markerString = (m: Marker): string => `{{${m.type}}}`;

const isMarker = (n: Node | Marker): n is Marker => n.type === "end" || n.type === "else";

/** Go's item.String(), as error messages show tokens. */
function tokenString(t: Token): string {
  if (t.type === "eof") return "EOF";
  if (t.type === "error") return t.val;
  if (KEYWORD_TYPES.has(t.type)) return `<${t.val}>`;
  return Array.from(t.val).length > 10 ? goQuoteTruncated(t.val, 10) + "..." : goQuote(t.val);
}

/** Tokens that can start a command. */
const OPERAND_START: ReadonlySet<TokenType> = new Set<TokenType>([
  "bool", "charConstant", "complex", "dot", "field", "identifier", "number", "nil", "rawString", "string", "variable", "leftParen",
]);

/** Operands that cannot take a piped value, so may not start a later pipeline stage. */
const NOT_EXECUTABLE: ReadonlySet<string> = new Set(["bool", "dot", "nil", "number", "string"]);

const isEmptyTree = (list: ListNode): boolean => list.nodes.every((n) => n.type === "text" && n.text.trim() === "");

class Parser {
  private i = 0;
  private vars: string[] = ["$"];
  private rangeDepth = 0;
  private depth = 0;
  private readonly trees = new Map<string, ListNode>();

  constructor(
    private readonly source: string,
    private readonly name: string,
    private readonly tokens: Token[],
    private readonly isFunction: (fn: string) => boolean,
  ) {}

  parse(): TemplateSet {
    const root: ListNode = { type: "list", pos: this.peek().pos, nodes: [] };
    while (this.peek().type !== "eof") {
      if (this.peek().type === "leftDelim") {
        const save = this.i;
        this.next();
        if (this.nextNonSpace().type === "define") {
          this.definition();
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (isMarker(n)) this.fail(`unexpected ${markerString(n)}`, n.pos);
      else root.nodes.push(n);
    }
    this.addTree(this.name, root, 0);
    return this.trees;
  }

  // Token access. Lexer errors surface when the bad token is read.

  private fail(message: string, pos: number): never {
    throw new TemplateFailure(locatedError(this.source, this.name, pos, message));
  }

  private peek(): Token {
    return this.tokens[Math.min(this.i, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    this.i++;
    if (t.type === "error") this.fail(t.val, t.pos);
    return t;
  }

  private backup(): void {
    this.i--;
  }

  private nextNonSpace(): Token {
    let t = this.next();
    while (t.type === "space") t = this.next();
    return t;
  }

  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private unexpected(t: Token, context: string): never {
    this.fail(`unexpected ${tokenString(t)} in ${context}`, t.pos);
  }

  private expect(type: TokenType, context: string): Token {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  /** Runs `f` one nesting level deeper, refusing templates nested beyond MAX_NESTING. */
  private nested<T>(pos: number, f: () => T): T {
    if (++this.depth > MAX_NESTING) this.fail(`max expression depth exceeded (${MAX_NESTING})`, pos);
    const out = f();
    this.depth--;
    return out;
  }

  /** Registers a template body; an empty body never replaces a non-empty one, as in Go. */
  private addTree(name: string, list: ListNode, pos: number): void {
    const existing = this.trees.get(name);
    if (!existing || isEmptyTree(existing)) this.trees.set(name, list);
    else if (!isEmptyTree(list)) this.fail(`template: multiple definition of template ${goQuote(name)}`, pos);
  }

  /** A body parsed in its own scope: only `$` is visible and no range encloses it. */
  private scopedBody(context: string): ListNode {
    const saved = { vars: this.vars, rangeDepth: this.rangeDepth };
    this.vars = ["$"];
    this.rangeDepth = 0;
    const [list, end] = this.itemList();
    if (end.type !== "end") this.fail(`unexpected ${markerString(end)} in ${context}`, end.pos);
    this.vars = saved.vars;
    this.rangeDepth = saved.rangeDepth;
    return list;
  }

  private definition(): void {
    const context = "define clause";
    const nameTok = this.nextNonSpace();
    const name = this.templateName(nameTok, context);
    this.expect("rightDelim", context);
    this.addTree(name, this.scopedBody(context), nameTok.pos);
  }

  private templateName(t: Token, context: string): string {
    if (t.type !== "string" && t.type !== "rawString") this.unexpected(t, context);
    const name = unquote(t.val);
    if (name === undefined) this.fail("invalid syntax", t.pos);
    return name;
  }

  /** Nodes up to an `{{end}}` or `{{else}}`, which is returned too. */
  private itemList(): [ListNode, Marker] {
    const list: ListNode = { type: "list", pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().type !== "eof") {
      const n = this.textOrAction();
      if (isMarker(n)) return [list, n];
      list.nodes.push(n);
    }
    this.fail("unexpected EOF", this.source.length);
  }

  private textOrAction(): Node | Marker {
    const t = this.nextNonSpace();
    if (t.type === "text") return { type: "text", pos: t.pos, text: t.val };
    if (t.type === "leftDelim") return this.action();
    this.unexpected(t, "input");
  }

  private action(): Node | Marker {
    const t = this.nextNonSpace();
    switch (t.type) {
      case "block":
        return this.blockControl();
      case "break":
      case "continue":
        return this.loopControl(t.type, t);
      case "else":
        return this.elseControl(t);
      case "end":
        this.expect("rightDelim", "end");
        return { type: "end", pos: t.pos };
      case "if":
      case "range":
      case "with":
        return this.nested(t.pos, () => this.branch(t.type as BranchNode["type"], t));
      case "template":
        return this.templateControl();
    }
    this.backup();
    const start = this.peekNonSpace();
    // Variables declared here persist until the enclosing {{end}}.
    return { type: "action", pos: start.pos, pipe: this.pipeline("command", "rightDelim") };
  }

  private loopControl(kind: "break" | "continue", t: Token): Node {
    const close = this.nextNonSpace();
    if (close.type !== "rightDelim") this.unexpected(close, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.fail(`{{${kind}}} outside {{range}}`, t.pos);
    return { type: kind, pos: t.pos };
  }

  private elseControl(t: Token): Marker {
    // "{{else if" and "{{else with" leave the keyword for the enclosing branch to read.
    const peek = this.peekNonSpace();
    if (peek.type === "if" || peek.type === "with") return { type: "else", pos: peek.pos };
    this.expect("rightDelim", "else");
    return { type: "else", pos: t.pos };
  }

  private branch(kind: BranchNode["type"], t: Token): BranchNode {
    const varsBefore = this.vars.length;
    const pipe = this.pipeline(kind, "rightDelim");
    if (kind === "range") this.rangeDepth++;
    const [list, next] = this.itemList();
    if (kind === "range") this.rangeDepth--;
    let elseList: ListNode | undefined;
    if (next.type === "else") {
      // {{else if b}} is {{else}}{{if b}}…{{end}}{{end}} with the inner {{end}} shared.
      const chained = this.peek();
      if ((kind === "if" || kind === "with") && chained.type === kind) {
        this.next();
        elseList = { type: "list", pos: next.pos, nodes: [this.nested(chained.pos, () => this.branch(kind, chained))] };
      } else {
        const [branch, end] = this.itemList();
        if (end.type !== "end") this.fail(`expected end; found ${markerString(end)}`, end.pos);
        elseList = branch;
      }
    }
    this.vars.length = varsBefore;
    return { type: kind, pos: t.pos, pipe, list, elseList };
  }

  private templateControl(): Node {
    const context = "template clause";
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    if (this.nextNonSpace().type === "rightDelim") return { type: "template", pos: t.pos, name };
    this.backup();
    return { type: "template", pos: t.pos, name, pipe: this.pipeline(context, "rightDelim") };
  }

  private blockControl(): Node {
    const context = "block clause";
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    const pipe = this.pipeline(context, "rightDelim");
    this.addTree(name, this.nested(t.pos, () => this.scopedBody(context)), t.pos);
    return { type: "template", pos: t.pos, name, pipe };
  }

  /** Declarations (`$x :=`, `$x =`, `$i, $v :=` in range), then commands joined by `|`. */
  private pipeline(context: string, end: "rightDelim" | "rightParen"): PipeNode {
    const pipe: PipeNode = { type: "pipe", pos: this.peekNonSpace().pos, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== "variable") break;
      const save = this.i;
      this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.type === "assign" || next.type === "declare") {
        pipe.isAssign = next.type === "assign";
        this.nextNonSpace();
        this.declare(pipe, v);
        break;
      }
      if (next.type === "char" && next.val === ",") {
        this.nextNonSpace();
        this.declare(pipe, v);
        if (context === "range" && pipe.decl.length < 2) {
          const after = this.peekNonSpace().type;
          if (after === "variable" || after === "rightDelim" || after === "rightParen") continue;
          this.fail("range can only initialize variables", next.pos);
        }
        this.fail(`too many declarations in ${context}`, next.pos);
      }
      this.i = save; // a variable used as an operand, not declared
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        this.checkPipeline(pipe, context, t.pos);
        return pipe;
      }
      if (!OPERAND_START.has(t.type)) this.unexpected(t, context);
      this.backup();
      pipe.cmds.push(this.command());
    }
  }

  private declare(pipe: PipeNode, v: Token): void {
    pipe.decl.push({ type: "variable", pos: v.pos, ident: [v.val] });
    this.vars.push(v.val);
  }

  private checkPipeline(pipe: PipeNode, context: string, pos: number): void {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, pos);
    pipe.cmds.slice(1).forEach((c, i) => {
      const first = c.args[0];
      if (first && NOT_EXECUTABLE.has(first.type)) this.fail(`non executable command in pipeline stage ${i + 2}`, c.pos);
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: "command", pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.type === "space") continue;
      if (t.type === "rightDelim" || t.type === "rightParen") this.backup();
      else if (t.type !== "pipe") this.unexpected(t, "operand");
      break;
    }
    if (cmd.args.length === 0) this.fail("empty command", cmd.pos);
    return cmd;
  }

  /** A term and any `.field` chain glued to it. */
  private operand(): ArgNode | undefined {
    const node = this.term();
    if (!node || this.peek().type !== "field") return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().type === "field") fields.push(this.next().val.slice(1));
    switch (node.type) {
      case "field":
      case "variable":
        return { ...node, ident: [...node.ident, ...fields] };
      case "bool":
      case "string":
      case "number":
      case "nil":
      case "dot":
        this.fail(`unexpected . after term ${goQuote(nodeString(node))}`, pos);
    }
    return { type: "chain", pos: node.pos, node, field: fields };
  }

  private term(): ArgNode | undefined {
    const t = this.nextNonSpace();
    switch (t.type) {
      case "identifier":
        if (!this.isFunction(t.val)) this.fail(`function ${goQuote(t.val)} not defined`, t.pos);
        return { type: "identifier", pos: t.pos, name: t.val };
      case "dot":
        return { type: "dot", pos: t.pos };
      case "nil":
        return { type: "nil", pos: t.pos };
      case "variable":
        return this.useVar(t);
      case "field":
        return { type: "field", pos: t.pos, ident: [t.val.slice(1)] };
      case "bool":
        return { type: "bool", pos: t.pos, value: t.val === "true" };
      case "charConstant":
      case "complex":
      case "number": {
        const n = parseNumber(t.val, t.type);
        if (!n.ok) this.fail(n.error, t.pos);
        return { type: "number", pos: t.pos, text: t.val, value: n.value };
      }
      case "leftParen":
        return this.nested(t.pos, () => this.pipeline("parenthesized pipeline", "rightParen"));
      case "string":
      case "rawString": {
        const text = unquote(t.val);
        if (text === undefined) this.fail("invalid syntax", t.pos);
        return { type: "string", pos: t.pos, quoted: t.val, text };
      }
    }
    this.backup();
    return undefined;
  }

  private useVar(t: Token): VariableNode {
    if (!this.vars.includes(t.val)) this.fail(`undefined variable ${goQuote(t.val)}`, t.pos);
    return { type: "variable", pos: t.pos, ident: [t.val] };
  }
}
