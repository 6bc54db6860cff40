/**
 * The parse tree, shaped like Go's text/template/parse nodes, and their canonical text (Go's
 * Node.String), which error messages quote as the place that failed.
 */
import type { Float64 } from "./values.ts";

/** A sequence of nodes: a template body or a branch. */
export interface ListNode {
  type: "list";
  pos: number;
  nodes: Node[];
}

/** Plain text, copied to the output. */
export interface TextNode {
  type: "text";
  pos: number;
  text: string;
}

/** `{{pipeline}}`: evaluated and printed unless it declares variables. */
export interface ActionNode {
  type: "action";
  pos: number;
  pipe: PipeNode;
}

/** `if`, `with` and `range`: a pipeline, a body and an optional else branch. */
export interface BranchNode {
  type: "if" | "with" | "range";
  pos: number;
  pipe: PipeNode;
  list: ListNode;
  elseList?: ListNode;
}

/** `{{template "name" pipeline}}` (also what `block` leaves in place). */
export interface TemplateNode {
  type: "template";
  pos: number;
  name: string;
  pipe?: PipeNode;
}

/** `{{break}}` or `{{continue}}` inside a range. */
export interface LoopControlNode {
  type: "break" | "continue";
  pos: number;
}

/** A node that can appear in a list. */
export type Node = TextNode | ActionNode | BranchNode | TemplateNode | LoopControlNode;

/** Commands joined by `|`, with optional `$x :=` / `$x =` declarations. */
export interface PipeNode {
  type: "pipe";
  pos: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}

/** One command: a function, field or value and its arguments. */
export interface CommandNode {
  type: "command";
  pos: number;
  args: ArgNode[];
}

/** `.a.b`: a chain of fields from dot. */
export interface FieldNode {
  type: "field";
  pos: number;
  ident: string[];
}

/** `$x.a.b`: a variable and optional fields. */
export interface VariableNode {
  type: "variable";
  pos: number;
  ident: string[];
}

/** `(pipeline).a.b`: fields of a parenthesised value. */
export interface ChainNode {
  type: "chain";
  pos: number;
  node: ArgNode;
  field: string[];
}

/** A function name. */
export interface IdentifierNode {
  type: "identifier";
  pos: number;
  name: string;
}

/** `.`, `nil`, `true`/`false`, numbers and strings. */
export type LiteralNode =
  | { type: "dot"; pos: number }
  | { type: "nil"; pos: number }
  | { type: "bool"; pos: number; value: boolean }
  | { type: "number"; pos: number; text: string; value: number | Float64 }
  | { type: "string"; pos: number; quoted: string; text: string };

/** Anything that can be an operand of a command. */
export type ArgNode = FieldNode | VariableNode | ChainNode | IdentifierNode | LiteralNode | PipeNode;

/** Any node, for error contexts. */
export type AnyNode = Node | ListNode | PipeNode | CommandNode | ArgNode;

/** Go's Node.String(): the canonical text of a node. */
export function nodeString(n: AnyNode): string {
  switch (n.type) {
    case "list":
      return n.nodes.map(nodeString).join("");
    case "text":
      return n.text;
    case "action":
      return `{{${nodeString(n.pipe)}}}`;
    case "if":
    case "with":
    case "range":
      return `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}${n.elseList ? `{{else}}${nodeString(n.elseList)}` : ""}{{end}}`;
    case "template":
      return `{{template ${JSON.stringify(n.name)}${n.pipe ? " " + nodeString(n.pipe) : ""}}}`;
    case "break":
    case "continue":
      return `{{${n.type}}}`;
    case "pipe": {
      const decl = n.decl.length ? `${n.decl.map(nodeString).join(", ")} ${n.isAssign ? "=" : ":="} ` : "";
      return decl + n.cmds.map(nodeString).join(" | ");
    }
    case "command":
      return n.args.map((a) => (a.type === "pipe" ? `(${nodeString(a)})` : nodeString(a))).join(" ");
    case "field":
      return n.ident.map((i) => "." + i).join("");
    case "variable":
      return n.ident.join(".");
    case "chain":
      return (n.node.type === "pipe" ? `(${nodeString(n.node)})` : nodeString(n.node)) + n.field.map((f) => "." + f).join("");
    case "identifier":
      return n.name;
    case "dot":
      return ".";
    case "nil":
      return "nil";
    case "bool":
      return String(n.value);
    case "number":
      return n.text;
    case "string":
      return n.quoted;
  }
}
