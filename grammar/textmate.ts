// The TextMate grammar of .flow files (scope `source.flow`), generated from the lexer's token table
// (tokens.ts: the regular expressions of comments, strings and numbers are the lexer's own; the
// keyword, operator and punctuation lists are its fixed tokens) and from the compiler's tables of
// built-in types, functions, pipeline operators and connectors. `scripts/gen-grammar.mjs` writes
// it to editor/vscode/syntaxes/ after every build; test/grammar.test.ts fails when the file on disk
// and this generator disagree, and compares the grammar's tokens with the lexer's.
//
// A TextMate grammar matches one line at a time and cannot parse, so the context it needs (a type
// after `source NAME:` or in `type X = ...`, a record key before `:`, lambda parameters before
// `=>`) is recognised by look-around and by begin/end regions, described at each rule below.
// Text the lexer rejects is scoped `invalid.illegal.*`, so every character of a file gets a scope.
import { BUILTINS } from "../compiler/builtins.js";
import { OPERATORS, WINDOW_KINDS } from "../compiler/operators.js";
import { CONNECTORS } from "../runtime/connectors/catalog.js";
import { T as TYPES } from "../runtime/types.js";
import { Identifier, tokenMeta, WhiteSpace, type TokenMeta } from "./tokens.js";

export const SCOPE_NAME = "source.flow";
export const MARKDOWN_INJECTION_SCOPE = "markdown.flow.codeblock";
/** Where the build writes the grammars, relative to the repository root. */
export const GRAMMAR_PATH = "editor/vscode/syntaxes/flow.tmLanguage.json";
export const MARKDOWN_INJECTION_PATH = "editor/vscode/syntaxes/flow-markdown-injection.tmLanguage.json";
/** The same grammar as a property list, the format Sublime Text and TextMate read. */
export const PLIST_GRAMMAR_PATH = "editor/sublime/Flow.tmLanguage";

/** The escapes a string may contain (tokens.ts `decodeString`); any other `\x` is FLOW1003. */
export const STRING_ESCAPES = ["n", "t", '"', "\\"];

// ---------------------------------------------------------------- scope names

/** Scopes of keywords by word; a keyword added to tokens.ts and missing here gets `keyword.other.WORD.flow`. */
const KEYWORD_SCOPES: Readonly<Record<string, string>> = {
  import: "keyword.control.import.flow",
  from: "keyword.control.from.flow",
  pipeline: "storage.type.pipeline.flow",
  type: "storage.type.type.flow",
  const: "storage.type.const.flow",
  config: "storage.type.config.flow",
  source: "storage.type.source.flow",
  stream: "storage.type.stream.flow",
  test: "storage.type.test.flow",
  given: "keyword.control.given.flow",
  expect: "keyword.control.expect.flow",
  ordered: "keyword.control.ordered.flow",
  sink: "keyword.control.sink.flow",
  as: "keyword.control.as.flow",
  true: "constant.language.boolean.true.flow",
  false: "constant.language.boolean.false.flow",
};

/** Scopes of operators and punctuation by text; a new one gets `keyword.operator.flow` or `punctuation.flow`. */
const SYMBOL_SCOPES: Readonly<Record<string, string>> = {
  "|>": "keyword.operator.pipe.flow",
  "=>": "storage.type.function.arrow.flow",
  "==": "keyword.operator.comparison.flow",
  "!=": "keyword.operator.comparison.flow",
  "<=": "keyword.operator.relational.flow",
  ">=": "keyword.operator.relational.flow",
  "<": "keyword.operator.relational.flow",
  ">": "keyword.operator.relational.flow",
  "&&": "keyword.operator.logical.flow",
  "||": "keyword.operator.logical.flow",
  "!": "keyword.operator.logical.flow",
  "??": "keyword.operator.coalesce.flow",
  "?": "keyword.operator.ternary.flow",
  "=": "keyword.operator.assignment.flow",
  "+": "keyword.operator.arithmetic.flow",
  "-": "keyword.operator.arithmetic.flow",
  "*": "keyword.operator.arithmetic.flow",
  "/": "keyword.operator.arithmetic.flow",
  "%": "keyword.operator.arithmetic.flow",
  ":": "punctuation.separator.colon.flow",
  ".": "punctuation.accessor.flow",
  ",": "punctuation.separator.comma.flow",
  "(": "punctuation.section.parens.begin.flow",
  ")": "punctuation.section.parens.end.flow",
  "[": "punctuation.section.brackets.begin.flow",
  "]": "punctuation.section.brackets.end.flow",
  "{": "punctuation.section.braces.begin.flow",
  "}": "punctuation.section.braces.end.flow",
};

/** Scopes of names by the role the grammar recognises them in. */
export const NAME_SCOPES = {
  variable: "variable.other.readwrite.flow",
  property: "variable.other.property.flow",
  parameter: "variable.parameter.flow",
  namedArgument: "variable.parameter.named.flow",
  stream: "variable.other.stream.flow",
  constant: "variable.other.constant.flow",
  pipeline: "entity.name.namespace.flow",
  typeName: "entity.name.type.flow",
  builtinType: "support.type.primitive.flow",
  builtinFunction: "support.function.builtin.flow",
  operator: "support.function.operator.flow",
  window: "support.function.window.flow",
  connector: "support.function.connector.flow",
  function: "entity.name.function.flow",
} as const;

/** The scope of each literal and comment token of tokens.ts, by token name. */
export const LITERAL_SCOPES: Readonly<Record<string, string>> = {
  LineComment: "comment.line.double-slash.flow",
  BlockComment: "comment.block.flow",
  // The same region as BlockComment: a TextMate begin/end region that never ends runs to the end of the file.
  UnterminatedBlockComment: "comment.block.flow",
  StringLiteral: "string.quoted.double.flow",
  UnterminatedString: "string.quoted.double.flow invalid.illegal.unterminated-string.flow",
  DurationLiteral: "constant.numeric.duration.flow",
  FloatLiteral: "constant.numeric.float.flow",
  IntLiteral: "constant.numeric.integer.flow",
  BadDuration: "invalid.illegal.duration.flow",
};

export const SCOPES = {
  escape: "constant.character.escape.flow",
  badEscape: "invalid.illegal.escape.flow",
  durationUnit: "keyword.other.unit.flow",
  unknownCharacter: "invalid.illegal.character.flow",
  optional: "keyword.operator.optional.flow",
  typeColon: "punctuation.separator.type.flow",
  keyColon: "punctuation.separator.key-value.flow",
  arraySuffix: "punctuation.definition.array-type.flow",
};

export function keywordScope(word: string): string {
  return KEYWORD_SCOPES[word] ?? `keyword.other.${word}.flow`;
}

export function symbolScope(m: TokenMeta): string {
  return SYMBOL_SCOPES[m.text!] ?? (m.category === "operator" ? "keyword.operator.flow" : "punctuation.flow");
}

// ---------------------------------------------------------------- regular expressions

/** A JavaScript regular expression source as Oniguruma reads it (only `\uXXXX` differs in what the lexer uses). */
export function toOniguruma(source: string): string {
  if (/\\[pPk]|\(\?<[A-Za-z]|\\u\{/.test(source)) throw new Error(`the lexer pattern /${source}/ uses syntax the grammar generator does not translate`);
  return source.replace(/\\u([0-9A-Fa-f]{4})/g, "\\x{$1}");
}

function patternOf(m: TokenMeta): string {
  const p = m.token.PATTERN;
  if (!(p instanceof RegExp)) throw new Error(`token ${m.name} has no regular expression`);
  if (p.flags.replace(/[gy]/g, "") !== "") throw new Error(`token ${m.name}: flags /${p.flags}/ are not supported by the grammar generator`);
  return toOniguruma(p.source);
}

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
const alternation = (words: readonly string[]) => [...words].sort((a, b) => b.length - a.length || a.localeCompare(b)).map(escapeRegex).join("|");

/** A literal run at the start or end of a regex source: escaped punctuation or plain characters. */
const LITERAL_RUN = String.raw`(?:\\[^A-Za-z0-9]|[^\\[\](){}.*+?^$|])+`;

/** Splits `PREFIX body SUFFIX` where PREFIX and SUFFIX are literal runs (either may be required). */
function splitDelimited(source: string, name: string, needSuffix: boolean): { open: string; body: string; close: string } {
  const m = new RegExp(`^(${LITERAL_RUN})([\\s\\S]*?)(${needSuffix ? LITERAL_RUN : ""})$`).exec(source);
  if (!m || m[2] === "") throw new Error(`token ${name}: cannot split /${source}/ into delimiters and a body`);
  return { open: m[1]!, body: m[2]!, close: m[3]! };
}

/** `FloatLiteral` → `float-literal`: the repository key of a token's rule. */
const ruleName = (m: TokenMeta) => m.name.replace(/(?<=[a-z])(?=[A-Z])/g, "-").toLowerCase();

const NAME = toOniguruma(Identifier.PATTERN instanceof RegExp ? Identifier.PATTERN.source : "");
/** Identifier characters: a keyword or name is not glued to them (the lexer's longest match). */
const NOT_AFTER_NAME = "(?<![A-Za-z0-9_])";
const NOT_BEFORE_NAME = "(?![A-Za-z0-9_])";

// ---------------------------------------------------------------- the grammar

type Rule = Record<string, unknown>;

const capture = (...scopes: (string | Rule | undefined)[]) =>
  Object.fromEntries(scopes.flatMap((s, i) => (s === undefined ? [] : [[String(i + 1), typeof s === "string" ? { name: s } : s]])));

/** The names the grammar knows, from the compiler's tables. */
export function knownNames() {
  const builtinTypes = Object.entries(TYPES)
    .filter(([k, v]) => typeof v === "object" && (v as { kind: string }).kind === k && k !== "unknown")
    .map(([k]) => k);
  return {
    keywords: tokenMeta.filter((m) => m.category === "keyword").map((m) => m.text!),
    builtinTypes,
    builtins: BUILTINS.map((b) => b.name),
    operators: OPERATORS.map((o) => o.name),
    windows: WINDOW_KINDS.map((w) => w.name),
    connectors: CONNECTORS.map((c) => c.name),
  };
}

export function flowGrammar(): Rule {
  const names = knownNames();
  const keyword = (w: string) => `${NOT_AFTER_NAME}${escapeRegex(w)}${NOT_BEFORE_NAME}`;
  const ANY_KEYWORD = `${NOT_AFTER_NAME}(?:${alternation(names.keywords)})${NOT_BEFORE_NAME}`;
  /** A name that is not a keyword, where the parser wants an Identifier. */
  const PLAIN_NAME = `(?!${ANY_KEYWORD})${NAME}`;
  const known = (words: readonly string[]) => `${NOT_AFTER_NAME}(?:${alternation(words)})${NOT_BEFORE_NAME}`;

  const repository: Record<string, Rule> = {};
  const handled = new Set<string>();

  // Comments, strings and numbers: the lexer's regular expressions.
  for (const m of tokenMeta) {
    if (m.category !== "literal" && m.category !== "comment") continue;
    const scope = LITERAL_SCOPES[m.name];
    if (scope === undefined) throw new Error(`token ${m.name} (${m.category}) has no scope in grammar/textmate.ts LITERAL_SCOPES`);
    handled.add(m.name);
    const source = patternOf(m);
    switch (m.name) {
      case "LineComment": {
        const { open, body } = splitDelimited(source, m.name, false);
        repository["line-comment"] = { name: scope, match: `(${open})${body}`, captures: capture("punctuation.definition.comment.flow") };
        break;
      }
      case "BlockComment": {
        // `/\*[\s\S]*?\*\//` spans lines: a begin/end region.
        const { open, body, close } = splitDelimited(source, m.name, true);
        if (body !== "[\\s\\S]*?") throw new Error(`token ${m.name}: expected a lazy body between its delimiters, got /${body}/`);
        repository["block-comment"] = {
          name: scope,
          begin: open,
          end: close,
          beginCaptures: { "0": { name: "punctuation.definition.comment.begin.flow" } },
          endCaptures: { "0": { name: "punctuation.definition.comment.end.flow" } },
        };
        break;
      }
      case "UnterminatedBlockComment":
        break;
      case "StringLiteral": {
        const { open, body, close } = splitDelimited(source, m.name, true);
        repository["string"] = {
          name: scope,
          match: `(${open})(${body})(${close})`,
          captures: capture("punctuation.definition.string.begin.flow", { patterns: [{ include: "#string-escape" }] }, "punctuation.definition.string.end.flow"),
        };
        break;
      }
      case "UnterminatedString": {
        const { open, body } = splitDelimited(source, m.name, false);
        repository["unterminated-string"] = {
          name: scope,
          match: `(${open})(${body})`,
          captures: capture("punctuation.definition.string.begin.flow", { patterns: [{ include: "#string-escape" }] }),
        };
        break;
      }
      case "DurationLiteral":
        repository["duration"] = { name: scope, match: source, captures: { "0": { patterns: [{ match: "(?<=\\d)[A-Za-z]+", name: SCOPES.durationUnit }] } } };
        break;
      default:
        repository[ruleName(m)] = { name: scope, match: source };
    }
  }
  for (const required of ["line-comment", "block-comment", "string", "unterminated-string", "duration"]) {
    if (!repository[required]) throw new Error(`the lexer no longer defines the token behind the grammar rule ${required}`);
  }
  repository["string-escape"] = {
    patterns: [
      { match: `\\\\[${STRING_ESCAPES.map((c) => (c === "\\" || c === '"' ? `\\${c}` : c)).join("")}]`, name: SCOPES.escape },
      { match: "\\\\[^\\r\\n]", name: SCOPES.badEscape },
    ],
  };
  repository["comments"] = { patterns: [{ include: "#line-comment" }, { include: "#block-comment" }] };
  repository["strings"] = { patterns: [{ include: "#string" }, { include: "#unterminated-string" }] };
  // Number tokens in the lexer's order: at one position, the first that matches wins, as in chevrotain.
  const numberOrder = tokenMeta.filter((m) => m.category === "literal" && !/String/.test(m.name)).map((m) => (m.name === "DurationLiteral" ? "#duration" : `#${ruleName(m)}`));
  repository["numbers"] = { patterns: numberOrder.map((include) => ({ include })) };

  // Keywords, operators and punctuation: the lexer's fixed tokens, in its order (longest first).
  const keywordGroups = new Map<string, string[]>();
  const symbolRules: Rule[] = [];
  for (const m of tokenMeta) {
    if (m.category === "keyword") {
      const scope = keywordScope(m.text!);
      keywordGroups.set(scope, [...(keywordGroups.get(scope) ?? []), m.text!]);
      handled.add(m.name);
    } else if (m.category === "operator" || m.category === "punctuation") {
      if (m.text === undefined) throw new Error(`token ${m.name} is an operator without a fixed text`);
      symbolRules.push({ match: escapeRegex(m.text), name: symbolScope(m) });
      handled.add(m.name);
    } else if (m.category === "identifier" || m.category === "whitespace") handled.add(m.name);
  }
  const unhandled = tokenMeta.filter((m) => !handled.has(m.name));
  if (unhandled.length > 0) throw new Error(`grammar/textmate.ts does not handle the tokens ${unhandled.map((m) => m.name).join(", ")}`);
  repository["keywords"] = { patterns: [...keywordGroups].map(([scope, words]) => ({ match: known(words), name: scope })) };
  repository["operators"] = { patterns: symbolRules };

  // Characters no token matches: the lexer reports them (FLOW1004).
  repository["invalid"] = { match: `(?:(?!${patternOf(tokenMeta.find((m) => m.token === WhiteSpace)!)})[\\s\\S])`, name: SCOPES.unknownCharacter };

  // ------------------------------------------------------------ names in context

  // `|> op`: the step's operator.
  repository["pipe-step"] = {
    match: `(\\|>)\\s*(?:(${known(names.operators)})|(${PLAIN_NAME}))`,
    captures: capture(SYMBOL_SCOPES["|>"], NAME_SCOPES.operator, NAME_SCOPES.function),
  };
  // `x => e`
  repository["lambda-parameter"] = { match: `${NOT_AFTER_NAME}(${PLAIN_NAME})\\s*(?==>)`, captures: capture(NAME_SCOPES.parameter) };
  // `(a, b) => e`, `() => e`: decided by looking ahead to `) =>`, as the parser does.
  repository["lambda-parameters"] = {
    begin: `(\\()(?=\\s*(?:${NAME}\\s*(?:,\\s*${NAME}\\s*)*(?:,\\s*)?)?\\)\\s*=>)`,
    end: "\\)",
    beginCaptures: capture(SYMBOL_SCOPES["("]),
    endCaptures: { "0": { name: SYMBOL_SCOPES[")"] } },
    patterns: [{ include: "#comments" }, { match: PLAIN_NAME, name: NAME_SCOPES.parameter }, { include: "#operators" }],
  };
  // `r.field`: any name, keywords included, after a dot.
  repository["member"] = { match: `(\\.)\\s*(${NAME})`, captures: capture(SYMBOL_SCOPES["."], NAME_SCOPES.property) };
  // `f(`: built-ins, operators used as aggregates inside aggregate({...}), windows, connectors, others.
  repository["call"] = {
    patterns: [
      // `min(x => e)` inside aggregate({...}) is the aggregate, `min(a, b)` the built-in.
      { match: `(${known(names.operators)})(?=\\s*\\(\\s*(?:${NAME}|\\([^()]*\\))\\s*=>)`, captures: capture(NAME_SCOPES.operator) },
      { match: `(${known(names.builtins)})(?=\\s*\\()`, captures: capture(NAME_SCOPES.builtinFunction) },
      { match: `(${known(names.operators)})(?=\\s*\\()`, captures: capture(NAME_SCOPES.operator) },
      { match: `(${known(names.windows)})(?=\\s*\\()`, captures: capture(NAME_SCOPES.window) },
      { match: `(${known(names.connectors)})(?=\\s*\\()`, captures: capture(NAME_SCOPES.connector) },
      { match: `${NOT_AFTER_NAME}(${PLAIN_NAME})(?=\\s*\\()`, captures: capture(NAME_SCOPES.function) },
    ],
  };
  // Names a keyword introduces: `as counts`, `given lines`, `expect ordered counts`, `stream s`, `const c`, `pipeline p`.
  const introduces = (word: string, scope: string, between = "") => ({
    match: `(${keyword(word)})${between}\\s+(${PLAIN_NAME})`,
    captures: between ? capture(keywordScope(word), keywordScope("ordered"), scope) : capture(keywordScope(word), scope),
  });
  repository["introduced-names"] = {
    patterns: [
      introduces("as", NAME_SCOPES.stream),
      introduces("given", NAME_SCOPES.stream),
      introduces("expect", NAME_SCOPES.stream, `(?:\\s+(${keyword("ordered")}))?`),
      introduces("stream", NAME_SCOPES.stream),
      introduces("const", NAME_SCOPES.constant),
      introduces("pipeline", NAME_SCOPES.pipeline),
    ],
  };
  // `{ key: value }` and `config { key: value }`: a name (keywords allowed) right after `{` or `,`
  // or first on its line, followed by `:`. A conditional's `a : b` never follows `{` or `,`.
  repository["record-key"] = {
    match: `(?:(?<=[{,])|^)\\s*(${NAME})\\s*(:)`,
    captures: capture(NAME_SCOPES.property, SCOPES.keyColon),
  };
  // `f(name: value)`: the same, inside parentheses.
  repository["named-argument"] = {
    match: `(?:(?<=[(,])|^)\\s*(${NAME})\\s*(:)`,
    captures: capture(NAME_SCOPES.namedArgument, SCOPES.keyColon),
  };
  const group = (open: string, close: string, name: string, patterns: Rule[]) => ({
    name,
    begin: escapeRegex(open),
    end: escapeRegex(close),
    beginCaptures: { "0": { name: SYMBOL_SCOPES[open] } },
    endCaptures: { "0": { name: SYMBOL_SCOPES[close] } },
    patterns,
  });
  repository["parens"] = group("(", ")", "meta.parens.flow", [{ include: "#named-argument" }, { include: "#expression" }]);
  repository["brackets"] = group("[", "]", "meta.brackets.flow", [{ include: "#expression" }]);
  repository["braces"] = group("{", "}", "meta.braces.flow", [{ include: "#record-key" }, { include: "#expression" }]);
  repository["identifier"] = { match: NAME, name: NAME_SCOPES.variable };

  repository["expression"] = {
    patterns: [
      { include: "#comments" },
      { include: "#strings" },
      { include: "#numbers" },
      { include: "#pipe-step" },
      { include: "#introduced-names" },
      { include: "#lambda-parameters" },
      { include: "#lambda-parameter" },
      { include: "#member" },
      { include: "#call" },
      { include: "#parens" },
      { include: "#brackets" },
      { include: "#braces" },
      { include: "#keywords" },
      { include: "#identifier" },
      { include: "#operators" },
      { include: "#invalid" },
    ],
  };

  // ------------------------------------------------------------ types

  // A type: a built-in or named type, a record type `{ name?: T, ... }`, `T[]`.
  repository["type"] = {
    patterns: [
      { include: "#comments" },
      { include: "#record-type" },
      { match: "(\\[)\\s*(\\])", captures: capture(`${SYMBOL_SCOPES["["]} ${SCOPES.arraySuffix}`, `${SYMBOL_SCOPES["]"]} ${SCOPES.arraySuffix}`) },
      { match: known(names.builtinTypes), name: NAME_SCOPES.builtinType },
      { match: `${NOT_AFTER_NAME}${PLAIN_NAME}`, name: NAME_SCOPES.typeName },
      { include: "#expression" },
    ],
  };
  repository["record-type"] = {
    ...group("{", "}", "meta.type.record.flow", [{ include: "#comments" }, { include: "#field-type" }, { include: "#expression" }]),
  };
  // `name?: T` inside a record type; the type runs to the next `,` or `}` or the end of the line.
  repository["field-type"] = {
    begin: `(${NAME})\\s*(\\?)?\\s*(:)`,
    beginCaptures: capture(NAME_SCOPES.property, SCOPES.optional, SCOPES.typeColon),
    end: "(?=[,}])|$",
    patterns: [{ include: "#type" }],
  };
  // `type Name = T`: the type runs to the end of the line (a record type may span lines).
  repository["type-declaration"] = {
    begin: `(${keyword("type")})(?:\\s+(${PLAIN_NAME}))?`,
    beginCaptures: capture(keywordScope("type"), NAME_SCOPES.typeName),
    end: "$",
    patterns: [{ include: "#type" }],
  };
  // `source name: T = connector(...)`: a type from `:` to `=`.
  repository["source-declaration"] = {
    begin: `(${keyword("source")})(?:\\s+(${PLAIN_NAME}))?`,
    beginCaptures: capture(keywordScope("source"), NAME_SCOPES.stream),
    end: "$",
    patterns: [
      { include: "#comments" },
      { begin: "\\G\\s*(:)", beginCaptures: capture(SCOPES.typeColon), end: "(?==)|$", patterns: [{ include: "#type" }] },
      { include: "#expression" },
    ],
  };

  return {
    information_for_contributors: [
      "Generated by scripts/gen-grammar.mjs from grammar/textmate.ts (the lexer's tokens and the compiler's tables): do not edit.",
      "`npm run build` regenerates it; test/grammar.test.ts fails when it is out of date.",
    ],
    name: "Flow",
    scopeName: SCOPE_NAME,
    fileTypes: ["flow"],
    patterns: [{ include: "#type-declaration" }, { include: "#source-declaration" }, { include: "#expression" }],
    repository: Object.fromEntries(Object.entries(repository).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** Highlights ```flow fenced blocks (also ```flow error, ```flow warning) in Markdown with source.flow. */
export function markdownInjectionGrammar(): Rule {
  return {
    information_for_contributors: ["Generated by scripts/gen-grammar.mjs from grammar/textmate.ts: do not edit."],
    scopeName: MARKDOWN_INJECTION_SCOPE,
    injectionSelector: "L:text.html.markdown",
    patterns: [{ include: "#flow-code-block" }],
    repository: {
      "flow-code-block": {
        name: "markup.fenced_code.block.markdown",
        begin: "(^|\\G)(\\s*)(`{3,}|~{3,})\\s*(?i:(flow)((\\s+|:|,|\\{|\\?)[^`~]*)?$)",
        beginCaptures: {
          "3": { name: "punctuation.definition.markdown" },
          "4": { name: "fenced_code.block.language.markdown" },
          "5": { name: "fenced_code.block.language.attributes.markdown" },
        },
        end: "(^|\\G)(\\2|\\s{0,3})(\\3)\\s*$",
        endCaptures: { "3": { name: "punctuation.definition.markdown" } },
        patterns: [
          {
            begin: "(^|\\G)(\\s*)(.*)",
            while: "(^|\\G)(?!\\s*([`~]{3,})\\s*$)",
            contentName: "meta.embedded.block.flow",
            patterns: [{ include: SCOPE_NAME }],
          },
        ],
      },
    },
  };
}

/** A grammar as written to disk. */
export function grammarText(grammar: Rule): string {
  return JSON.stringify(grammar, null, 2) + "\n";
}

/** A grammar as an XML property list (.tmLanguage), for Sublime Text, TextMate and others. */
export function grammarPlist(grammar: Rule): string {
  const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const value = (v: unknown, indent: string): string => {
    const inner = indent + "  ";
    if (typeof v === "string") return `${indent}<string>${esc(v)}</string>`;
    if (typeof v === "boolean") return `${indent}<${v}/>`;
    if (typeof v === "number") return `${indent}<integer>${v}</integer>`;
    if (Array.isArray(v)) return v.length === 0 ? `${indent}<array/>` : `${indent}<array>\n${v.map((x) => value(x, inner)).join("\n")}\n${indent}</array>`;
    if (v && typeof v === "object") {
      const entries = Object.entries(v).filter(([k]) => k !== "information_for_contributors");
      return `${indent}<dict>\n${entries.map(([k, x]) => `${inner}<key>${esc(k)}</key>\n${value(x, inner)}`).join("\n")}\n${indent}</dict>`;
    }
    throw new Error(`cannot write ${typeof v} in a property list`);
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    "<!-- Generated by scripts/gen-grammar.mjs from grammar/textmate.ts: do not edit. -->",
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    value(grammar, ""),
    "</plist>",
    "",
  ].join("\n");
}
