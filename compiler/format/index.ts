// The formatter (`flowc fmt`, and the language server's formatting): takes a SourceFile and returns
// its text in the one canonical layout, or, when the file has syntax errors, no text and those
// errors. It prints the AST (so the result parses to the same tree) with every comment kept (see
// comments.ts), and it is idempotent: formatting formatted text changes nothing.
//
// The layout, in short: two-space indentation, lines of at most 100 columns where possible; one
// item per line, blank lines between items kept (at most one); `config { }` and test bodies one
// entry per line; a pipeline or stream of two or more steps one `|> step` per line, a one-step
// pipe on one line when it fits; argument lists, arrays, records and record types on one line when
// they fit, else one element per line with a trailing comma (record types: no commas, as in
// `config`); an array or record written over several lines (a line break after its opening
// bracket) stays so, as test data usually is; a call whose only argument is a record, an array or
// a lambda returning one hugs it: `map(c => {` … `})`; `x => e`, `(a, b) => e`; spaces around
// binary operators, `a ? b : c`, `name: value`.
import type * as A from "../ast.js";
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import { parse } from "../phases/1-parse/index.js";
import type { SourceFile } from "../source.js";
import { CommentPool, type Claimed, type Placed } from "./comments.js";
import { breakParent, group, hardline, ifBreak, indent, join, line, printDoc, softline, type Doc } from "./doc.js";

export const LINE_WIDTH = 100;

export interface FormatResult {
  /** The formatted text; absent when the file has syntax errors. */
  text?: string;
  /** The syntax errors that prevented formatting (type errors do not). */
  diagnostics: Diagnostic[];
}

export function format(file: SourceFile): FormatResult {
  const parsed = parse(file);
  if (hasErrors(parsed.diagnostics)) return { diagnostics: parsed.diagnostics.filter((d) => d.severity === "error") };
  return { text: formatProgram(parsed.program, file.text), diagnostics: [] };
}

/** Formats a program parsed without syntax errors from `text`. */
export function formatProgram(program: A.Program, text: string): string {
  const f = new Formatter(text, program.comments);
  const out = printDoc(f.program(program), LINE_WIDTH);
  return out.length === 0 ? "" : out + "\n";
}

const commentDoc = (c: A.Comment): Doc => (c.block ? c.text : [c.text.trimEnd(), breakParent]);

class Formatter {
  private readonly pool: CommentPool;

  constructor(
    private readonly text: string,
    comments: readonly A.Comment[],
  ) {
    this.pool = new CommentPool(text, comments);
  }

  // ------------------------------------------------------------ lists

  private leadingDoc(leading: Placed[], vertical: boolean): Doc[] {
    return leading.map((p) => [vertical && p.blankBefore ? hardline : "", commentDoc(p.comment), hardline]);
  }

  private trailingDoc(trailing: A.Comment[]): Doc[] {
    return trailing.map((c) => [" ", commentDoc(c)]);
  }

  /** Lines of a list that is always one element per line (items, config entries, test statements). */
  private vertical(claimed: Claimed<Doc>): Doc[] {
    const rows: Doc[] = claimed.slots.map((s) => [
      ...this.leadingDoc(s.leading, true),
      s.blankBefore ? hardline : "",
      s.printed,
      ...this.trailingDoc(s.trailing),
    ]);
    for (const d of claimed.dangling) rows.push([d.blankBefore ? hardline : "", commentDoc(d.comment), breakParent]);
    return join(hardline, rows);
  }

  /**
   * The inside of a list that may be flat or broken: elements separated by `sep` and a line,
   * `last` after the last element (a trailing comma when broken), then dangling comments.
   */
  private breakable(claimed: Claimed<Doc>, sep: Doc, last: Doc): Doc[] {
    const n = claimed.slots.length;
    const rows: Doc[] = claimed.slots.map((s, i) => [...this.leadingDoc(s.leading, false), s.printed, i < n - 1 ? sep : last, ...this.trailingDoc(s.trailing)]);
    // A block comment may stay on the line: where it lands, it is claimed as it was, or printed alike.
    for (const d of claimed.dangling) rows.push(d.comment.block ? d.comment.text : [commentDoc(d.comment), breakParent]);
    return join(line, rows);
  }

  /** A bracketed list: `{ a, b }` with spaces inside (`spaced`) or `[a, b]` without. */
  private bracketed(open: string, close: string, claimed: Claimed<Doc>, opts: { spaced: boolean; sep: Doc; last: Doc; broken: boolean }): Doc {
    if (claimed.slots.length === 0 && claimed.dangling.length === 0) return open + close;
    const edge = opts.spaced ? line : softline;
    return group([open, indent([edge, ...this.breakable(claimed, opts.sep, opts.last)]), edge, close], { broken: opts.broken });
  }

  /** Written over several lines: a line break between the opening bracket and the first element. */
  private expanded(span: A.Span, first: { span: A.Span } | undefined): boolean {
    return first !== undefined && this.text.slice(span.start + 1, first.span.start).includes("\n");
  }

  // ------------------------------------------------------------ items

  program(p: A.Program): Doc {
    const claimed = this.pool.claim(p.items, { start: 0, end: this.text.length }, (it) => this.item(it));
    return this.vertical(claimed);
  }

  private item(it: A.Item): Doc {
    switch (it.kind) {
      case "header":
        return ["pipeline ", it.name.name];
      case "import": {
        const names = it.names.map((n) => n.name);
        const list = names.length === 0 ? "{}" : group(["{", indent([line, join([",", line], names), ifBreak(",")]), line, "}"]);
        return ["import ", list, " from ", it.from.raw];
      }
      case "type":
        return ["type ", it.name.name, " = ", this.type(it.type)];
      case "const":
        return ["const ", it.name.name, " = ", this.expr(it.value)];
      case "config": {
        const claimed = this.pool.claim(it.entries, it.span, (e) => [e.key.name, ": ", this.expr(e.value)]);
        return this.block("config", claimed);
      }
      case "source":
        return ["source ", it.name.name, ": ", this.type(it.type), " = ", this.call(it.connector)];
      case "stream":
        return ["stream ", it.name.name, " = ", this.expr(it.value, true)];
      case "pipeline":
        return this.pipe(it.pipe, true);
      case "test": {
        const claimed = this.pool.claim(it.body, it.span, (s) => this.testStmt(s));
        return this.block(`test ${it.name.raw}`, claimed);
      }
    }
  }

  private block(head: string, claimed: Claimed<Doc>): Doc {
    if (claimed.slots.length === 0 && claimed.dangling.length === 0) return `${head} {}`;
    return [head, " {", indent([hardline, ...this.vertical(claimed)]), hardline, "}"];
  }

  private testStmt(s: A.TestStmt): Doc {
    if (s.kind === "given") return ["given ", s.source.name, " = ", this.expr(s.value)];
    return ["expect ", s.ordered ? "ordered " : "", s.sink.name, " = ", this.expr(s.value)];
  }

  // ------------------------------------------------------------ types

  private type(t: A.TypeExpr): Doc {
    switch (t.kind) {
      case "namedType":
        return t.name.name;
      case "arrayType":
        return [this.type(t.element), "[]"];
      case "missingType":
        return "";
      case "recordType": {
        const claimed = this.pool.claim(t.fields, t.span, (f) => [f.name.name, f.optional ? "?" : "", ": ", this.type(f.type)]);
        // Broken, fields are separated by line breaks alone, as config entries are.
        return this.bracketed("{", "}", claimed, { spaced: true, sep: ifBreak("", ","), last: "", broken: this.expanded(t.span, t.fields[0]) });
      }
    }
  }

  // ------------------------------------------------------------ expressions

  private expr(e: A.Expr, topLevel = false): Doc {
    switch (e.kind) {
      case "int":
      case "float":
      case "string":
      case "duration":
        return e.raw;
      case "bool":
        return String(e.value);
      case "missing":
        return "";
      case "name":
        return e.name.name;
      case "paren":
        return ["(", this.expr(e.expr), ")"];
      case "unary":
        return [e.op, this.expr(e.operand)];
      case "binary":
        return [this.expr(e.left), " ", e.op, " ", this.expr(e.right)];
      case "conditional":
        return [this.expr(e.test), " ? ", this.expr(e.then), " : ", this.expr(e.else)];
      case "member":
        return [this.expr(e.object), ".", e.property.name];
      case "index":
        return [this.expr(e.object), "[", this.expr(e.index), "]"];
      case "call":
        return this.call(e);
      case "lambda": {
        const params = e.params.length === 1 ? e.params[0]!.name : `(${e.params.map((p) => p.name).join(", ")})`;
        return [params, " => ", this.expr(e.body)];
      }
      case "pipe":
        return this.pipe(e, topLevel);
      case "array": {
        const claimed = this.pool.claim(e.elements, e.span, (x) => this.expr(x));
        return this.bracketed("[", "]", claimed, { spaced: false, sep: ",", last: ifBreak(","), broken: this.expanded(e.span, e.elements[0]) });
      }
      case "record": {
        const claimed = this.pool.claim(e.fields, e.span, (f) => [f.name.name, ": ", this.expr(f.value)]);
        return this.bracketed("{", "}", claimed, { spaced: true, sep: ",", last: ifBreak(","), broken: this.expanded(e.span, e.fields[0]) });
      }
    }
  }

  private call(c: A.CallExpr): Doc {
    const claimed = this.pool.claim(c.args, c.argsSpan, (a) => (a.name ? [a.name.name, ": ", this.expr(a.value)] : this.expr(a.value)));
    const only = claimed.slots[0];
    if (c.args.length === 1 && only && claimed.dangling.length === 0 && only.leading.length === 0 && only.trailing.length === 0 && hugs(c.args[0]!.value)) {
      return [c.callee.name, "(", only.printed, ")"];
    }
    return [c.callee.name, this.bracketed("(", ")", claimed, { spaced: false, sep: ",", last: ifBreak(","), broken: false })];
  }

  /** `head |> step ...`: broken one step per line at the top level when there are two steps or more. */
  private pipe(p: A.PipeExpr, topLevel: boolean): Doc {
    const head = this.expr(p.head);
    const claimed = this.pool.claim(p.steps, { start: p.head.span.end, end: p.span.end }, (s) => this.step(s), p.head.span.end);
    const steps = claimed.slots.map((s) => [line, ...this.leadingDoc(s.leading, false), s.printed, ...this.trailingDoc(s.trailing)]);
    return group([head, ...this.trailingDoc(claimed.headTrailing), indent(steps)], { broken: topLevel && p.steps.length >= 2 });
  }

  private step(s: A.PipeStep): Doc {
    if (s.kind === "op") return ["|> ", this.call(s.call)];
    return ["|> sink ", this.call(s.connector), s.as ? [" as ", s.as.name] : ""];
  }
}

/** A lone argument that opens a bracket of its own, so the call can hug it: `f({`, `map(x => [`. */
function hugs(e: A.Expr): boolean {
  if (e.kind === "record" || e.kind === "array") return true;
  return e.kind === "lambda" && (e.body.kind === "record" || e.body.kind === "array");
}
