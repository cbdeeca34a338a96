// Limits on nesting, so that no phase runs out of stack on a pathological file (FLOW1008). The
// parser, the checker and the emitter all recurse once per level of nesting; JavaScript's stack
// holds a few hundred of the parser's levels, fewer of the code formatter's. Two limits, both far
// beyond what a person writes:
// - before parsing, brackets more than MAX_BRACKETS deep: the region from the first bracket too
//   deep to its partner becomes one opaque token, which the parser reads as a name (the checker's
//   complaints about that name lie inside the FLOW1008 span, and are dropped as its echoes);
// - after parsing, expressions and types more than MAX_DEPTH levels deep (`- - - x`, `a ? b : c ?
//   ...`, long chains of `+` or `.field`): the subtree too deep becomes a Missing node.
import type { IToken } from "chevrotain";
import type * as A from "../../ast.js";
import { diagnostic, type Diagnostic } from "../../diagnostics/diagnostic.js";
import * as T from "../../../grammar/tokens.js";

export const MAX_BRACKETS = 64;
export const MAX_DEPTH = 128;

const OPENERS = new Set([T.LParen, T.LBracket, T.LCurly]);
const CLOSERS = new Set([T.RParen, T.RBracket, T.RCurly]);
const ITEM_KEYWORDS = new Set(T.ITEM_KEYWORDS);

const HINTS = ["split it into smaller pieces with `const` or `stream` declarations"];

/** The tokens with every region nested deeper than MAX_BRACKETS folded into one name token. */
export function limitBrackets(tokens: IToken[], text: string, file: string): { tokens: IToken[]; diagnostics: Diagnostic[] } {
  const out: IToken[] = [];
  const diagnostics: Diagnostic[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    // Brackets left open by an earlier item do not count against this one.
    if (itemStart(tokens, i, text)) depth = 0;
    if (CLOSERS.has(t.tokenType)) depth = Math.max(0, depth - 1);
    if (!OPENERS.has(t.tokenType) || depth < MAX_BRACKETS) {
      if (OPENERS.has(t.tokenType)) depth++;
      out.push(t);
      continue;
    }
    // `t` is one bracket too many. Its region ends at its partner, or before the next item when it
    // is never closed.
    let close = -1;
    let last = i;
    let inner = 0;
    let deepest = MAX_BRACKETS;
    for (let j = i; j < tokens.length; j++) {
      const u = tokens[j]!;
      if (j > i && itemStart(tokens, j, text)) break;
      last = j;
      if (OPENERS.has(u.tokenType)) deepest = Math.max(deepest, MAX_BRACKETS + ++inner);
      else if (CLOSERS.has(u.tokenType) && --inner === 0) {
        close = j;
        break;
      }
    }
    // A `(` or `[` keeps its brackets (so `f(...)`, `x[...]` and `s |> union(...)` still parse)
    // and its contents become the name; a record `{...}` becomes the name as a whole.
    const keep = t.tokenType !== T.LCurly;
    const from = keep ? i + 1 : i;
    const to = keep && close >= 0 ? close - 1 : last;
    if (keep) out.push(t);
    if (to >= from) {
      const first = tokens[from]!;
      const end = tokenEnd(tokens[to]!);
      diagnostics.push(
        diagnostic(
          "FLOW1008",
          file,
          { start: first.startOffset, end },
          `This is nested too deeply for me to read: ${deepest} brackets inside each other, where at most ${MAX_BRACKETS} are allowed.`,
          { label: "nested too deeply", hints: HINTS },
        ),
      );
      out.push({
        ...first,
        image: text.slice(first.startOffset, end),
        endOffset: end - 1,
        endLine: tokens[to]!.endLine,
        endColumn: tokens[to]!.endColumn,
        tokenType: T.Identifier,
        tokenTypeIdx: T.Identifier.tokenTypeIdx!,
      });
    }
    if (keep && close >= 0) out.push(tokens[close]!);
    i = close >= 0 ? close : last;
  }
  return { tokens: out, diagnostics };
}

const tokenEnd = (t: IToken) => t.startOffset + t.image.length;

/** An item keyword first on its line, not used as a field name (`r.type`, `{ source: x }`). */
function itemStart(tokens: IToken[], i: number, text: string): boolean {
  const t = tokens[i]!;
  if (!ITEM_KEYWORDS.has(t.tokenType)) return false;
  const prev = tokens[i - 1];
  if (prev && (prev.tokenType === T.Dot || !text.slice(prev.startOffset + prev.image.length, t.startOffset).includes("\n"))) return false;
  const next = tokens[i + 1]?.tokenType;
  return next !== T.Colon && !(next === T.Question && tokens[i + 2]?.tokenType === T.Colon);
}

const TYPE_KINDS = new Set(["namedType", "arrayType", "recordType", "missingType"]);
const EXPR_KINDS = new Set([
  ..."int float string bool duration array record name unary binary conditional member index call lambda pipe paren missing".split(" "),
]);

/**
 * Replaces every expression or type deeper than MAX_DEPTH by a Missing node and reports it. Walks
 * the tree with an explicit stack: the tree may be far deeper than the call stack allows.
 */
export function limitDepth(program: A.Program, file: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const item of program.items) {
    // One diagnostic per item, spanning every subtree cut off in it.
    let cut: A.Span | undefined;
    const stack: Array<{ node: object; depth: number }> = [{ node: item, depth: 0 }];
    while (stack.length > 0) {
      const { node, depth } = stack.pop()!;
      const record = node as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const value = record[key];
        const children = Array.isArray(value) ? value : [value];
        children.forEach((child, i) => {
          if (!child || typeof child !== "object" || !("kind" in child)) return;
          const kind = (child as { kind: string }).kind;
          const counts = EXPR_KINDS.has(kind) || TYPE_KINDS.has(kind);
          const d = depth + (counts ? 1 : 0);
          if (!counts || d <= MAX_DEPTH) return void stack.push({ node: child as object, depth: d });
          const span = (child as { span: A.Span }).span;
          cut = cut ? { start: Math.min(cut.start, span.start), end: Math.max(cut.end, span.end) } : span;
          const missing = { kind: TYPE_KINDS.has(kind) ? "missingType" : "missing", span };
          if (Array.isArray(value)) value[i] = missing;
          else record[key] = missing;
        });
      }
    }
    if (cut) {
      diagnostics.push(
        diagnostic("FLOW1008", file, cut, `This is nested too deeply for me to compile: more than ${MAX_DEPTH} expressions or types inside each other.`, {
          label: "nested too deeply",
          hints: HINTS,
        }),
      );
    }
  }
  return diagnostics;
}
