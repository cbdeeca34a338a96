// The abstract syntax tree of a .flow file: what phase 1 (parse) returns and phase 2 (check) reads.
// Every node has a span (character offsets into the file's text). After syntax errors the parser
// still returns a tree: missing pieces are `Missing` nodes (expressions) or absent optional parts,
// so an editor can work with the rest of the file.

export interface Span {
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

export interface Ident {
  kind: "ident";
  name: string;
  span: Span;
}

export interface Program {
  kind: "program";
  items: Item[];
  /** Comments, kept for the formatter and the editor. */
  comments: Comment[];
  span: Span;
}

export interface Comment {
  kind: "comment";
  text: string;
  block: boolean;
  span: Span;
}

export type Item =
  | PipelineHeader
  | ImportDecl
  | TypeDecl
  | ConstDecl
  | ConfigDecl
  | SourceDecl
  | StreamDecl
  | PipelineStmt
  | TestDecl;

/** `pipeline NAME` */
export interface PipelineHeader {
  kind: "header";
  name: Ident;
  span: Span;
}

/** `import { f, g } from "./udfs.ts"` */
export interface ImportDecl {
  kind: "import";
  names: Ident[];
  from: StringLit;
  span: Span;
}

/** `type Click = { ... }` */
export interface TypeDecl {
  kind: "type";
  name: Ident;
  type: TypeExpr;
  span: Span;
}

/** `const minLen = 3` */
export interface ConstDecl {
  kind: "const";
  name: Ident;
  value: Expr;
  span: Span;
}

/** `config { partitions: 4, checkpoint: 5s }` */
export interface ConfigDecl {
  kind: "config";
  entries: ConfigEntry[];
  span: Span;
}

export interface ConfigEntry {
  kind: "configEntry";
  key: Ident;
  value: Expr;
  span: Span;
}

/** `source NAME: TYPE = CONNECTOR(args)` */
export interface SourceDecl {
  kind: "source";
  name: Ident;
  type: TypeExpr;
  connector: CallExpr;
  span: Span;
}

/** `stream NAME = EXPR |> op ...` */
export interface StreamDecl {
  kind: "stream";
  name: Ident;
  value: Expr;
  span: Span;
}

/** `EXPR |> op ... |> sink CONNECTOR(args) [as NAME]`: a pipe expression whose last step is a sink. */
export interface PipelineStmt {
  kind: "pipeline";
  pipe: PipeExpr;
  span: Span;
}

/** `test "name" { given ... expect ... }` */
export interface TestDecl {
  kind: "test";
  name: StringLit;
  body: TestStmt[];
  span: Span;
}

export type TestStmt = GivenStmt | ExpectStmt;

/** `given lines = [ ... ]` */
export interface GivenStmt {
  kind: "given";
  source: Ident;
  value: Expr;
  span: Span;
}

/** `expect [ordered] counts = [ ... ]` */
export interface ExpectStmt {
  kind: "expect";
  ordered: boolean;
  sink: Ident;
  value: Expr;
  span: Span;
}

// ---------------------------------------------------------------- types

export type TypeExpr = NamedTypeExpr | ArrayTypeExpr | RecordTypeExpr | MissingType;

/** `int`, `string`, `Click`, ... */
export interface NamedTypeExpr {
  kind: "namedType";
  name: Ident;
  span: Span;
}

/** `T[]` */
export interface ArrayTypeExpr {
  kind: "arrayType";
  element: TypeExpr;
  span: Span;
}

/** `{ name: T, other?: U }` */
export interface RecordTypeExpr {
  kind: "recordType";
  fields: FieldTypeExpr[];
  span: Span;
}

export interface FieldTypeExpr {
  kind: "fieldType";
  name: Ident;
  optional: boolean;
  type: TypeExpr;
  span: Span;
}

/** Stands where a type was expected but a syntax error left none. */
export interface MissingType {
  kind: "missingType";
  span: Span;
}

// ---------------------------------------------------------------- expressions

export type Expr =
  | IntLit
  | FloatLit
  | StringLit
  | BoolLit
  | DurationLit
  | ArrayLit
  | RecordLit
  | NameExpr
  | UnaryExpr
  | BinaryExpr
  | ConditionalExpr
  | MemberExpr
  | IndexExpr
  | CallExpr
  | LambdaExpr
  | PipeExpr
  | ParenExpr
  | MissingExpr;

export interface IntLit {
  kind: "int";
  value: number;
  raw: string;
  span: Span;
}

export interface FloatLit {
  kind: "float";
  value: number;
  raw: string;
  span: Span;
}

/** A string literal; `value` has its escapes (\n \t \" \\) decoded, `raw` is the text with quotes. */
export interface StringLit {
  kind: "string";
  value: string;
  raw: string;
  span: Span;
}

export interface BoolLit {
  kind: "bool";
  value: boolean;
  span: Span;
}

/** `250ms 10s 5m 1h 1d`; `ms` is the value in milliseconds. */
export interface DurationLit {
  kind: "duration";
  ms: number;
  raw: string;
  span: Span;
}

/** `[a, b]` (a trailing comma is allowed) */
export interface ArrayLit {
  kind: "array";
  elements: Expr[];
  span: Span;
}

/** `{ word: w, n: 1 }` (a trailing comma is allowed) */
export interface RecordLit {
  kind: "record";
  fields: RecordFieldInit[];
  span: Span;
}

export interface RecordFieldInit {
  kind: "fieldInit";
  name: Ident;
  value: Expr;
  span: Span;
}

/** A reference to a name: a stream, source, constant, lambda parameter. */
export interface NameExpr {
  kind: "name";
  name: Ident;
  span: Span;
}

export type UnaryOp = "-" | "!";

export interface UnaryExpr {
  kind: "unary";
  op: UnaryOp;
  operand: Expr;
  span: Span;
}

export type BinaryOp =
  | "+" | "-" | "*" | "/" | "%"
  | "==" | "!=" | "<" | "<=" | ">" | ">="
  | "&&" | "||" | "??";

export interface BinaryExpr {
  kind: "binary";
  op: BinaryOp;
  /** Span of the operator token itself. */
  opSpan: Span;
  left: Expr;
  right: Expr;
  span: Span;
}

/** `cond ? a : b` */
export interface ConditionalExpr {
  kind: "conditional";
  test: Expr;
  then: Expr;
  else: Expr;
  span: Span;
}

/** `r.field` */
export interface MemberExpr {
  kind: "member";
  object: Expr;
  property: Ident;
  span: Span;
}

/** `xs[i]` */
export interface IndexExpr {
  kind: "index";
  object: Expr;
  index: Expr;
  span: Span;
}

/**
 * `f(a, b, name: c)`: calls of built-ins, UDFs, operators (inside a pipe), connectors and window
 * specs all have this form. The callee is always a plain name.
 */
export interface CallExpr {
  kind: "call";
  callee: Ident;
  args: Arg[];
  /** Span of the parenthesised argument list, `(` to `)`. */
  argsSpan: Span;
  span: Span;
}

/** A positional (`name` absent) or named (`format: "csv"`) argument. */
export interface Arg {
  kind: "arg";
  name?: Ident;
  value: Expr;
  span: Span;
}

/** `x => e`, `(a, b) => e` */
export interface LambdaExpr {
  kind: "lambda";
  params: Ident[];
  body: Expr;
  span: Span;
}

/** `head |> op(...) |> op(...) [|> sink CONNECTOR(args) [as NAME]]` */
export interface PipeExpr {
  kind: "pipe";
  head: Expr;
  steps: PipeStep[];
  span: Span;
}

export type PipeStep = OperatorStep | SinkStep;

/** `|> name(args)`: an operator applied to the stream. `call.callee` is the operator's name. */
export interface OperatorStep {
  kind: "op";
  call: CallExpr;
  /** Span of `|>`. */
  pipeSpan: Span;
  span: Span;
}

/** `|> sink CONNECTOR(args) [as NAME]` */
export interface SinkStep {
  kind: "sink";
  connector: CallExpr;
  as?: Ident;
  pipeSpan: Span;
  span: Span;
}

/** `( e )`, kept so the formatter and spans stay faithful. */
export interface ParenExpr {
  kind: "paren";
  expr: Expr;
  span: Span;
}

/** Stands where an expression was expected but a syntax error left none. */
export interface MissingExpr {
  kind: "missing";
  span: Span;
}
