// The lexer of .flow files: chevrotain token definitions, a metadata table per token (read by the
// TextMate grammar generator and by the parser's error messages) and `tokenize`, which runs the
// lexer and turns the malformed tokens it deliberately recognises (unterminated strings and
// comments, bad escapes, unknown duration units, huge numbers, stray characters) into FLOW1xxx
// diagnostics, so the parser only ever sees well-formed or already-reported tokens.
//
// Numbers: an int is `\d+`; a float is `3.5`, `1e3`, `2.5e-3` (exponents are accepted and always
// make a float); a duration is an int immediately followed by ms, s, m, h or d. A number glued to
// any other letters (`10x`, `5sec`, `1.5s`) is one BadDuration token reported as FLOW1006.
import { createToken, Lexer, type IToken, type TokenType } from "chevrotain";
import type { Comment, Span } from "../compiler/ast.js";
import { diagnostic, type Diagnostic } from "../compiler/diagnostics/diagnostic.js";

export type TokenCategory = "keyword" | "operator" | "punctuation" | "literal" | "identifier" | "comment" | "whitespace";

export interface TokenMeta {
  token: TokenType;
  name: string;
  category: TokenCategory;
  keyword: boolean;
  /** The exact text of a fixed token (keyword, operator, punctuation); absent for patterns. */
  text?: string;
  /** How error messages name the token when it was expected. */
  describe: string;
}

const meta: TokenMeta[] = [];

function define(
  name: string,
  pattern: RegExp | string,
  category: TokenCategory,
  describe: string,
  extra: Partial<Parameters<typeof createToken>[0]> = {},
): TokenType {
  const token = createToken({ name, pattern, ...extra });
  meta.push({
    token,
    name,
    category,
    keyword: category === "keyword",
    ...(typeof pattern === "string" ? { text: pattern } : {}),
    describe,
  });
  return token;
}

const ID_TAIL = "(?![A-Za-z0-9_])";

// ---------------------------------------------------------------- trivia

export const WhiteSpace = define("WhiteSpace", /[ \t\r\n\uFEFF]+/, "whitespace", "white space", { group: Lexer.SKIPPED, line_breaks: true });
export const LineComment = define("LineComment", /\/\/[^\r\n]*/, "comment", "a comment", { group: "comments" });
export const BlockComment = define("BlockComment", /\/\*[\s\S]*?\*\//, "comment", "a comment", { group: "comments", line_breaks: true });
/** `/*` never closed: swallows the rest of the file (FLOW1005). */
export const UnterminatedBlockComment = define("UnterminatedBlockComment", /\/\*[\s\S]*/, "comment", "a comment", { group: "comments", line_breaks: true });

// ---------------------------------------------------------------- literals

/** Abstract: any string token, so the parser accepts an unterminated string (already reported) as a string. */
export const StringToken = createToken({ name: "StringToken", pattern: Lexer.NA });
export const StringLiteral = define("StringLiteral", /"(?:[^"\\\r\n]|\\[^\r\n])*"/, "literal", "a string", { categories: [StringToken] });
/** A string that reaches the end of its line or of the file (FLOW1002). */
export const UnterminatedString = define("UnterminatedString", /"(?:[^"\\\r\n]|\\[^\r\n])*\\?/, "literal", "a string", { categories: [StringToken] });

export const DurationLiteral = define("DurationLiteral", new RegExp(`\\d+(?:ms|s|m|h|d)${ID_TAIL}`), "literal", "a duration");
export const FloatLiteral = define("FloatLiteral", new RegExp(`\\d+(?:\\.\\d+(?:[eE][+-]?\\d+)?|[eE][+-]?\\d+)${ID_TAIL}`), "literal", "a number");
export const IntLiteral = define("IntLiteral", new RegExp(`\\d+(?![A-Za-z0-9_]|\\.\\d)`), "literal", "a number");
/** A number followed by letters that are not a duration unit: `10x`, `5sec`, `1.5s` (FLOW1006). */
export const BadDuration = define("BadDuration", /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[A-Za-z_][A-Za-z0-9_]*/, "literal", "a duration");

// ---------------------------------------------------------------- names and keywords

/**
 * Abstract: a name or a keyword. Field names, member names, named arguments and config keys
 * accept keywords, so `{ type: "click" }`, `r.source` and `from: x` are fine.
 */
export const AnyName = createToken({ name: "AnyName", pattern: Lexer.NA });
export const Identifier = define("Identifier", /[A-Za-z_][A-Za-z0-9_]*/, "identifier", "a name", { categories: [AnyName] });

function keyword(word: string): TokenType {
  return define(word[0]!.toUpperCase() + word.slice(1), word, "keyword", `\`${word}\``, { longer_alt: Identifier, categories: [AnyName] });
}

export const Pipeline = keyword("pipeline");
export const Import = keyword("import");
export const From = keyword("from");
export const Type = keyword("type");
export const Const = keyword("const");
export const Config = keyword("config");
export const Source = keyword("source");
export const Stream = keyword("stream");
export const Test = keyword("test");
export const Given = keyword("given");
export const Expect = keyword("expect");
export const Ordered = keyword("ordered");
export const Sink = keyword("sink");
export const As = keyword("as");
export const True = keyword("true");
export const False = keyword("false");

// Keywords are defined after Identifier (they name it as their longer alternative) but must be
// tried before it.
meta.push(
  ...meta.splice(
    meta.findIndex((m) => m.token === Identifier),
    1,
  ),
);

/** Keywords that begin a top-level item; the parser resynchronises on them after an error. */
export const ITEM_KEYWORDS: readonly TokenType[] = [Pipeline, Import, Type, Const, Config, Source, Stream, Test];

// ---------------------------------------------------------------- operators and punctuation
// Longer operators come before their prefixes: chevrotain takes the first pattern that matches.

export const PipeOp = define("PipeOp", "|>", "operator", "`|>`");
export const Arrow = define("Arrow", "=>", "operator", "`=>`");
export const EqEq = define("EqEq", "==", "operator", "`==`");
export const NotEq = define("NotEq", "!=", "operator", "`!=`");
export const LtEq = define("LtEq", "<=", "operator", "`<=`");
export const GtEq = define("GtEq", ">=", "operator", "`>=`");
export const AndAnd = define("AndAnd", "&&", "operator", "`&&`");
export const OrOr = define("OrOr", "||", "operator", "`||`");
export const QuestionQuestion = define("QuestionQuestion", "??", "operator", "`??`");
export const Lt = define("Lt", "<", "operator", "`<`");
export const Gt = define("Gt", ">", "operator", "`>`");
export const Equals = define("Equals", "=", "operator", "`=`");
export const Bang = define("Bang", "!", "operator", "`!`");
export const Question = define("Question", "?", "operator", "`?`");
export const Plus = define("Plus", "+", "operator", "`+`");
export const Minus = define("Minus", "-", "operator", "`-`");
export const Star = define("Star", "*", "operator", "`*`");
export const Slash = define("Slash", "/", "operator", "`/`");
export const Percent = define("Percent", "%", "operator", "`%`");
export const Colon = define("Colon", ":", "punctuation", "`:`");
export const Dot = define("Dot", ".", "punctuation", "`.`");
export const Comma = define("Comma", ",", "punctuation", "`,`");
export const LParen = define("LParen", "(", "punctuation", "`(`");
export const RParen = define("RParen", ")", "punctuation", "`)`");
export const LBracket = define("LBracket", "[", "punctuation", "`[`");
export const RBracket = define("RBracket", "]", "punctuation", "`]`");
export const LCurly = define("LCurly", "{", "punctuation", "`{`");
export const RCurly = define("RCurly", "}", "punctuation", "`}`");

/** Every token the lexer can produce, in matching order, plus the abstract categories. */
export const allTokens: TokenType[] = [...meta.map((m) => m.token), StringToken, AnyName];

/** Metadata of every concrete token, in matching order. */
export const tokenMeta: readonly TokenMeta[] = meta;

const metaByToken = new Map<TokenType, TokenMeta>(meta.map((m) => [m.token, m]));

export function metaOf(token: TokenType): TokenMeta | undefined {
  return metaByToken.get(token);
}

// Optimisations are required (a token whose first characters chevrotain cannot compute makes
// this throw at load time): without them the lexer is several times slower. Characters no token
// matches are therefore left to chevrotain's lexer errors rather than a catch-all token.
export const flowLexer = new Lexer(allTokens, { positionTracking: "onlyOffset", ensureOptimizations: true });

// ---------------------------------------------------------------- values of literal tokens

export const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Common misspellings of duration units, for the FLOW1006 hint. */
// prettier-ignore
const UNIT_SYNONYMS: Readonly<Record<string, string>> = {
  msec: "ms", msecs: "ms", millis: "ms", milli: "ms", millisecond: "ms", milliseconds: "ms",
  sec: "s", secs: "s", second: "s", seconds: "s", S: "s",
  min: "m", mins: "m", minute: "m", minutes: "m",
  hr: "h", hrs: "h", hour: "h", hours: "h", H: "h",
  day: "d", days: "d", D: "d",
};

export interface DecodedString {
  value: string;
  /** Offsets (relative to the token) of escapes that are not `\n \t \" \\`. */
  badEscapes: number[];
}

/** Decodes a string token's text (with its quotes; the closing one may be missing). */
export function decodeString(raw: string): DecodedString {
  const closed = raw.length >= 2 && raw.endsWith('"') && !isEscapedAt(raw, raw.length - 1);
  const body = raw.slice(1, closed ? -1 : raw.length);
  let value = "";
  const badEscapes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      value += c;
      continue;
    }
    const next = body[i + 1];
    if (next === "n") value += "\n";
    else if (next === "t") value += "\t";
    else if (next === '"') value += '"';
    else if (next === "\\") value += "\\";
    else {
      badEscapes.push(i + 1);
      value += next === undefined ? "\\" : "\\" + next;
    }
    i++;
  }
  return { value, badEscapes };
}

function isEscapedAt(raw: string, index: number): boolean {
  let backslashes = 0;
  for (let i = index - 1; i >= 1 && raw[i] === "\\"; i--) backslashes++;
  return backslashes % 2 === 1;
}

export interface DecodedDuration {
  /** The value in milliseconds; for a BadDuration with a recognisable unit, the value it most likely meant. */
  ms: number | undefined;
  number: string;
  unit: string;
  /** The unit the person probably meant (`sec` → `s`). */
  suggestedUnit?: string;
}

export function decodeDuration(raw: string): DecodedDuration {
  const m = /^(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(.*)$/.exec(raw);
  const number = m?.[1] ?? raw;
  const unit = m?.[2] ?? "";
  const perUnit = DURATION_UNITS[unit];
  if (perUnit !== undefined) return { ms: Number(number) * perUnit, number, unit };
  const suggested = UNIT_SYNONYMS[unit] ?? UNIT_SYNONYMS[unit.toLowerCase()];
  const ms = suggested === undefined ? undefined : Number(number) * DURATION_UNITS[suggested]!;
  return { ms: ms !== undefined && Number.isSafeInteger(ms) ? ms : undefined, number, unit, ...(suggested === undefined ? {} : { suggestedUnit: suggested }) };
}

// ---------------------------------------------------------------- tokenize

export interface LexResult {
  /** The tokens the parser reads: no trivia, no unknown characters. */
  tokens: IToken[];
  comments: Comment[];
  /** Spans of runs of unknown characters, left out of `tokens`. */
  unknown: Span[];
  /** Where a block comment that is never closed starts; it runs to the end of the file. */
  unterminatedComment?: number;
  diagnostics: Diagnostic[];
}

const spanOf = (t: IToken): Span => ({ start: t.startOffset, end: t.startOffset + t.image.length });

export function tokenize(text: string, file: string): LexResult {
  const result = flowLexer.tokenize(text);
  const diagnostics: Diagnostic[] = [];
  const comments: Comment[] = [];
  let unterminatedComment: number | undefined;

  for (const t of result.groups["comments"] ?? []) {
    const block = t.tokenType !== LineComment;
    comments.push({ kind: "comment", text: t.image, block, span: spanOf(t) });
    if (t.tokenType === UnterminatedBlockComment) {
      unterminatedComment = t.startOffset;
      diagnostics.push(
        diagnostic(
          "FLOW1005",
          file,
          { start: t.startOffset, end: t.startOffset + 2 },
          "This block comment is never closed, so it runs to the end of the file.",
          {
            label: "the comment starts here",
            hints: ["close it with `*/`"],
          },
        ),
      );
    }
  }

  // Characters no token matches are lexer errors: chevrotain skips them and goes on.
  const unknownRuns = result.errors.map((e) => ({ start: e.offset, end: Math.min(e.offset + Math.max(1, e.length), text.length) }));
  const unknown = reportUnknownCharacters(unknownRuns, text, file, diagnostics);

  for (const t of result.tokens) checkToken(t, file, diagnostics);
  return { tokens: result.tokens, comments, unknown, diagnostics, ...(unterminatedComment === undefined ? {} : { unterminatedComment }) };
}

function reportUnknownCharacters(runs: Span[], text: string, file: string, out: Diagnostic[]): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < runs.length) {
    const start = runs[i]!.start;
    let end = runs[i]!.end;
    i++;
    while (i < runs.length && runs[i]!.start === end) end = runs[i++]!.end;
    spans.push({ start, end });
    const shown = text.slice(start, end);
    const hint = CHARACTER_HINTS[shown];
    out.push(
      diagnostic("FLOW1004", file, { start, end }, `I do not understand the character${[...shown].length > 1 ? "s" : ""} \`${printable(shown)}\` here.`, {
        label: "unexpected character",
        ...(hint ? { hints: [hint] } : {}),
      }),
    );
  }
  return spans;
}

const CHARACTER_HINTS: Readonly<Record<string, string>> = {
  "|": 'to pass a stream to an operator, write `|>`; for "or", write `||`',
  "&": 'for "and", write `&&`',
  "'": 'strings are written in double quotes: "text"',
  ";": "statements end at the end of the line; no `;` is needed",
  "#": "comments start with `//`",
  "`": 'strings are written in double quotes: "text"',
};

function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function checkToken(t: IToken, file: string, out: Diagnostic[]): void {
  const span = spanOf(t);
  switch (t.tokenType) {
    case StringLiteral:
    case UnterminatedString: {
      for (const rel of decodeString(t.image).badEscapes) {
        const start = t.startOffset + rel;
        const ch = t.image[rel + 1] ?? "";
        out.push(
          diagnostic("FLOW1003", file, { start, end: start + 1 + ch.length }, `\`\\${ch}\` is not an escape I know in a string.`, {
            label: "unknown escape",
            hints: ['the escapes are `\\n`, `\\t`, `\\"` and `\\\\`; to write a backslash (for example in a regular expression), write `\\\\`'],
          }),
        );
      }
      if (t.tokenType === UnterminatedString) {
        out.push(
          diagnostic("FLOW1002", file, span, "This string is never closed: it reaches the end of the line.", {
            label: "the string starts here",
            hints: ['add the closing `"`; a string cannot span several lines (write `\\n` for a line break)'],
          }),
        );
      }
      return;
    }
    case IntLiteral:
      if (!Number.isSafeInteger(Number(t.image))) {
        out.push(
          diagnostic("FLOW1007", file, span, `The number \`${t.image}\` is too large: integers must be at most ${Number.MAX_SAFE_INTEGER}.`, {
            label: "out of range",
            hints: ["write it as a float (for example `1e18`) if an approximate value is fine"],
          }),
        );
      }
      return;
    case FloatLiteral:
      if (!Number.isFinite(Number(t.image))) {
        out.push(diagnostic("FLOW1007", file, span, `The number \`${t.image}\` is too large to represent.`, { label: "out of range" }));
      }
      return;
    case DurationLiteral: {
      const d = decodeDuration(t.image);
      if (d.ms === undefined || !Number.isSafeInteger(d.ms)) {
        out.push(diagnostic("FLOW1007", file, span, `The duration \`${t.image}\` is too long to represent in milliseconds.`, { label: "out of range" }));
      }
      return;
    }
    case BadDuration:
      out.push(badDurationDiagnostic(t, file));
      return;
  }
}

function badDurationDiagnostic(t: IToken, file: string): Diagnostic {
  const d = decodeDuration(t.image);
  const span = spanOf(t);
  const unitSpan = { start: t.startOffset + d.number.length, end: span.end };
  const whole = /^\d+$/.test(d.number);
  const hints: string[] = [];
  if (d.suggestedUnit !== undefined && whole) hints.push(`write \`${d.number}${d.suggestedUnit}\``);
  else if (DURATION_UNITS[d.unit] !== undefined || d.suggestedUnit !== undefined) {
    const ms = Number(d.number) * DURATION_UNITS[d.suggestedUnit ?? d.unit]!;
    if (Number.isSafeInteger(ms)) hints.push(`write \`${ms}ms\``);
  }
  if (hints.length === 0) hints.push("the duration units are `ms`, `s`, `m`, `h` and `d`; to multiply, write `*` between a number and a name");
  const message = whole
    ? `\`${d.unit}\` is not a duration unit I know, in \`${t.image}\`.`
    : `\`${t.image}\` is not a number or a duration I can read: a duration is a whole number followed by its unit.`;
  return diagnostic("FLOW1006", file, whole ? unitSpan : span, message, { label: whole ? "unknown unit" : "not a duration", hints });
}
