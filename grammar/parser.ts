// The parser of .flow files: a chevrotain EmbeddedActionsParser that builds the AST of
// compiler/ast.ts directly, with chevrotain's error recovery on, plus item-level
// resynchronisation of our own (see `splitIntoChunks`), and the translation of chevrotain's
// recognition errors into FLOW1001 diagnostics written for a person.
//
// Grammar decisions a reader of the AST needs (precedence lowest to highest):
//   expression  := lambdaOrCond ("|>" step)*            a PipeExpr only when there is a step
//   step        := "sink" call ["as" NAME] | call       a bare `|> count` is reported and kept as `count()`
//   lambdaOrCond:= lambda | conditional
//   lambda      := (NAME | "(" [NAME ("," NAME)* [","]] ")") "=>" lambdaOrCond
//   conditional := coalesce ["?" lambdaOrCond ":" lambdaOrCond]
//   then ?? || && (== !=) (< <= > >=) (+ -) (* / %), all left-associative; unary - !;
//   postfix .field [index]; primary: literal, NAME, NAME(args), (e), [..], {..}.
// A lambda's body is a lambdaOrCond, not a pipe: `x => a |> f()` is `(x => a) |> f()`, so `|>`
// is always outermost and a pipe inside a lambda body needs parentheses. Arguments, array
// elements, record fields and `(...)` hold full expressions, pipes included. `() => e` parses.
// Field names, member names, named-argument names and config keys may be keywords.
import { EmbeddedActionsParser, EOF, type IParserErrorMessageProvider, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import type * as A from "../compiler/ast.js";
import { diagnostic, type Diagnostic, type Label } from "../compiler/diagnostics/diagnostic.js";
import * as T from "./tokens.js";

type Span = A.Span;

// ---------------------------------------------------------------- recognition error capture
// chevrotain asks for an error's message at the moment it happens; we record what it knows and
// write the person-facing message afterwards, when the whole token stream is at hand.

interface ErrorInfo {
  kind: "mismatch" | "noViableAlt" | "earlyExit" | "redundant";
  expected?: TokenType;
  actual: IToken;
  previous?: IToken;
  ruleName: string;
}

let pendingInfo: ErrorInfo[] = [];

function record(info: ErrorInfo): string {
  pendingInfo.push(info);
  return `#${pendingInfo.length - 1}`;
}

const messageRecorder: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, previous, ruleName }) => record({ kind: "mismatch", expected, actual, previous, ruleName }),
  buildNotAllInputParsedMessage: ({ firstRedundant, ruleName }) => record({ kind: "redundant", actual: firstRedundant, ruleName }),
  buildNoViableAltMessage: ({ actual, previous, ruleName }) => record({ kind: "noViableAlt", actual: actual[0]!, previous, ruleName }),
  buildEarlyExitMessage: ({ actual, previous, ruleName }) => record({ kind: "earlyExit", actual: actual[0]!, previous, ruleName }),
};

/** A diagnostic found by a grammar action rather than by chevrotain. */
interface Note {
  span: Span;
  message: string;
  label?: string;
  hints?: string[];
}

const OPENERS = new Map<TokenType, TokenType>([
  [T.LParen, T.RParen],
  [T.LBracket, T.RBracket],
  [T.LCurly, T.RCurly],
]);
const CLOSERS = new Map<TokenType, TokenType>([...OPENERS].map(([open, close]) => [close, open]));

const isReal = (t: IToken | undefined): t is IToken =>
  t !== undefined && t.tokenType !== EOF && !t.isInsertedInRecovery && Number.isFinite(t.startOffset) && t.startOffset >= 0;

const tokenEnd = (t: IToken): number => t.startOffset + t.image.length;

// ---------------------------------------------------------------- the grammar

/** Recovery hooks of chevrotain's parser that its typings do not declare. */
interface RecoveryInternals {
  isInCurrentRuleReSyncSet(tokType: TokenType): boolean;
  canRecoverWithSingleTokenInsertion(expected: TokenType, follows: TokenType[]): boolean;
}

class FlowParser extends EmbeddedActionsParser {
  text = "";
  /** Where the current chunk starts: the position of things missing before its first token. */
  chunkStart = 0;
  notes: Note[] = [];
  /** The items of the current chunk. */
  parsed: A.Item[] = [];
  /** The item being parsed, filled in as its parts are recognised, so recovery keeps what was read. */
  currentItem: A.Item | undefined;
  /** Tokens first on their line, and opening brackets with no closing partner in the chunk. */
  lineStarts = new Set<IToken>();
  unclosed = new Set<IToken>();
  /** For each bracket the parser is inside, innermost last: whether it is never closed. */
  brackets: boolean[] = [];

  constructor() {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: messageRecorder });
    // The end of a chunk is the start of the next item, so there every rule may resynchronise and
    // every missing closing bracket may be inserted: the innermost rule keeps its partial node.
    const internals = this as unknown as RecoveryInternals;
    const inReSyncSet = internals.isInCurrentRuleReSyncSet.bind(this);
    internals.isInCurrentRuleReSyncSet = (t) => t === EOF || inReSyncSet(t);
    // A closing bracket is also inserted before a token that starts a line (it was forgotten at the
    // end of the line before), but not before a stray token followed by that bracket (`f(a b)`):
    // deleting the stray token is the better repair.
    const canInsert = internals.canRecoverWithSingleTokenInsertion.bind(this);
    internals.canRecoverWithSingleTokenInsertion = (expected, follows) =>
      CLOSERS.has(expected) && this.LA(2).tokenType === expected
        ? false
        : canInsert(expected, follows) || (CLOSERS.has(expected) && (this.LA(1).tokenType === EOF || this.lineStarts.has(this.LA(1))));
    this.performSelfAnalysis();
  }

  begin(tokens: IToken[], text: string, chunkStart: number, lineStarts: Set<IToken>): void {
    this.input = tokens;
    this.lineStarts = lineStarts;
    this.unclosed = unclosedOpeners(tokens);
    this.brackets = [];
    this.text = text;
    this.chunkStart = chunkStart;
    this.notes = [];
    this.parsed = [];
    this.currentItem = undefined;
  }

  // ------------------------------------------------------------ span helpers (safe while recording)

  private prevEnd(): number {
    if (this.RECORDING_PHASE) return 0;
    const t = this.LA(0);
    return isReal(t) ? tokenEnd(t) : this.chunkStart;
  }

  private nextStart(): number {
    if (this.RECORDING_PHASE) return 0;
    const t = this.LA(1);
    return isReal(t) ? t.startOffset : this.prevEnd();
  }

  /** The span of a token just consumed; an inserted (missing) token is zero-width after the previous one. */
  private sp(t: IToken): Span {
    if (this.RECORDING_PHASE) return { start: 0, end: 0 };
    if (isReal(t)) return { start: t.startOffset, end: tokenEnd(t) };
    const at = this.prevEnd();
    return { start: at, end: at };
  }

  private to(start: number): Span {
    return { start, end: Math.max(start, this.prevEnd()) };
  }

  private identOf(t: IToken): A.Ident {
    return { kind: "ident", name: t.isInsertedInRecovery ? "" : t.image, span: this.sp(t) };
  }

  private missingAt(e: IRecognitionException | undefined): Span {
    const prev = (e as { previousToken?: IToken } | undefined)?.previousToken;
    if (isReal(prev)) return { start: tokenEnd(prev), end: tokenEnd(prev) };
    if (isReal(e?.token)) return { start: e!.token.startOffset, end: e!.token.startOffset };
    const at = this.prevEnd();
    return { start: at, end: at };
  }

  private missingExpr = (e?: IRecognitionException): A.MissingExpr => ({ kind: "missing", span: this.missingAt(e) });
  private missingType = (e?: IRecognitionException): A.MissingType => ({ kind: "missingType", span: this.missingAt(e) });
  private missingIdent = (at: number): A.Ident => ({ kind: "ident", name: "", span: { start: at, end: at } });
  private missingCall = (at: number): A.CallExpr => ({
    kind: "call",
    callee: this.missingIdent(at),
    args: [],
    argsSpan: { start: at, end: at },
    span: { start: at, end: at },
  });

  private beginItem<I extends A.Item>(item: I): I {
    this.currentItem = item;
    return item;
  }

  private finishItem = (): A.Item | null => {
    const item = this.currentItem;
    if (!item) return null;
    item.span = this.to(item.span.start);
    return item;
  };

  private stringLit(t: IToken): A.StringLit {
    const raw = t.isInsertedInRecovery ? '""' : t.image;
    return { kind: "string", value: T.decodeString(raw).value, raw, span: this.sp(t) };
  }

  private sameLine(a: number, b: number): boolean {
    return !this.text.slice(Math.min(a, b), Math.max(a, b)).includes("\n");
  }

  /**
   * `element ("," element)* [","]`. A missing comma between two elements is reported but not
   * fatal, so `f(a b)` keeps both arguments. The helper's DSL calls use occurrence indices of
   * their own (20 and up), so a rule may call it once.
   */
  private commaList<E>(element: (occurrence: number) => E | null, what: string): E[] {
    const out: E[] = [];
    this.option(20, () => {
      const first = element(20);
      this.ACTION(() => first && out.push(first));
      this.many(21, () => {
        const at = this.nextStart();
        let comma = false;
        this.option(22, () => {
          this.consume(20, T.Comma);
          comma = true;
        });
        const next = element(21);
        this.ACTION(() => {
          if (!comma) {
            this.notes.push({
              span: { start: at, end: at },
              message: `I expected a comma between the ${what}.`,
              label: "a comma is missing here",
              hints: [`separate the ${what} with \`,\``],
            });
          }
          if (next) out.push(next);
        });
      });
      this.option(23, () => this.consume(21, T.Comma));
    });
    return out;
  }

  /**
   * Parses the inside of a bracket. Inside a bracket that is never closed, a `|>` at the start of
   * a line ends the expression (see `pipeMayContinue`): the bracket was meant to close before it.
   */
  private inBracket<R>(open: IToken, inside: () => R): R {
    this.ACTION(() => this.brackets.push(this.unclosed.has(open)));
    try {
      return inside();
    } finally {
      this.ACTION(() => this.brackets.pop());
    }
  }

  private pipeMayContinue(): boolean {
    return !(this.brackets.at(-1) === true && this.lineStarts.has(this.LA(1)));
  }

  // ------------------------------------------------------------ items

  items = this.RULE("items", () => {
    this.MANY(() => {
      const item = this.SUBRULE(this.item);
      this.ACTION(() => {
        if (item) this.parsed.push(item);
        this.currentItem = undefined;
      });
    });
  });

  item = this.RULE(
    "item",
    (): A.Item | null =>
      this.OR([
        { ALT: () => this.SUBRULE(this.header) },
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.typeDecl) },
        { ALT: () => this.SUBRULE(this.constDecl) },
        { ALT: () => this.SUBRULE(this.configDecl) },
        { ALT: () => this.SUBRULE(this.sourceDecl) },
        { ALT: () => this.SUBRULE(this.streamDecl) },
        { ALT: () => this.SUBRULE(this.testDecl) },
        { ALT: () => this.SUBRULE(this.pipelineStmt) },
      ]),
    { recoveryValueFunc: this.finishItem },
  );

  header = this.RULE(
    "header",
    (): A.Item | null => {
      const kw = this.CONSUME(T.Pipeline);
      const node = this.ACTION(() => this.beginItem<A.PipelineHeader>({ kind: "header", name: this.missingIdent(this.sp(kw).end), span: this.sp(kw) }));
      const name = this.identOf(this.CONSUME(T.Identifier));
      this.ACTION(() => (node.name = name));
      return this.ACTION(this.finishItem);
    },
    { recoveryValueFunc: this.finishItem },
  );

  importDecl = this.RULE(
    "importDecl",
    (): A.Item | null => {
      const kw = this.CONSUME(T.Import);
      const node = this.ACTION(() =>
        this.beginItem<A.ImportDecl>({ kind: "import", names: [], from: { kind: "string", value: "", raw: "", span: this.sp(kw) }, span: this.sp(kw) }),
      );
      this.CONSUME(T.LCurly);
      const names = this.commaList((i) => this.identOf(this.consume(i, T.Identifier)), "names");
      this.ACTION(() => (node.names = names));
      this.CONSUME(T.RCurly);
      this.CONSUME(T.From);
      const from = this.stringLit(this.CONSUME(T.StringToken));
      this.ACTION(() => (node.from = from));
      return this.ACTION(this.finishItem);
    },
    { recoveryValueFunc: this.finishItem },
  );

  typeDecl = this.RULE(
    "typeDecl",
    (): A.Item | null => {
      const kw = this.CONSUME(T.Type);
      const node = this.ACTION(() =>
        this.beginItem<A.TypeDecl>({ kind: "type", name: this.missingIdent(this.sp(kw).end), type: this.missingType(), span: this.sp(kw) }),
      );
      const name = this.identOf(this.CONSUME(T.Identifier));
      this.ACTION(() => (node.name = name));
      this.CONSUME(T.Equals);
      const type = this.SUBRULE(this.typeExpr);
      this.ACTION(() => (node.type = type));
      return this.ACTION(this.finishItem);
    },
    { recoveryValueFunc: this.finishItem },
  );

  constDecl = this.RULE(
    "constDecl",
    (): A.Item | null => {
      const kw = this.CONSUME(T.Const);
      const node = this.ACTION(() =>
        this.beginItem<A.ConstDecl>({ kind: "const", name: this.missingIdent(this.sp(kw).end), value: this.missingExpr(), span: this.sp(kw) }),
      );
      const name = this.identOf(this.CONSUME(T.Identifier));
      this.ACTION(() => (node.name = name));
      this.CONSUME(T.Equals);
      const value = this.SUBRULE(this.expression);
      this.ACTION(() => (node.value = value));
      return this.ACTION(this.finishItem);
    },
    { recoveryValueFunc: this.finishItem },
  );

  configDecl = this.RULE(
    "configDecl",
    (): A.Item | null => {
      const kw = this.CONSUME(T.Config);
      const node = this.ACTION(() => this.beginItem<A.ConfigDecl>({ kind: "config", entries: [], span: this.sp(kw) }));
      this.CONSUME(T.LCurly);
      let comma = true;
      this.MANY(() => {
        const entry = this.SUBRULE(this.configEntry);
        this.ACTION(() => {
          if (!entry) return;
          this.checkSeparated(node.entries.at(-1), entry, comma, "config entries");
          node.entries.push(entry);
          comma = false;
        });
        this.OPTION(() => {
          this.CONSUME(T.Comma);
          comma = true;
        });
      });
      this.CONSUME(T.RCurly);
      return this.ACTION(this.finishItem);
    },
    { recoveryValueFunc: this.finishItem },
  );

  configEntry = this.RULE(
    "configEntry",
    (): A.ConfigEntry | null => {
      const key = this.identOf(this.CONSUME(T.AnyName));
      this.CONSUME(T.Colon);
      const value = this.SUBRULE(this.expression);
      return this.ACTION(() => ({ kind: "configEntry", key, value, span: this.to(key.span.start) }));
    },
    { recoveryValueFunc: () => null },
  );

  /** Entries of config blocks and record types are separated by a comma or a line break. */
  private checkSeparated(prev: { span: Span } | undefined, next: { span: Span }, comma: boolean, what: string): void {
    if (!prev || comma || !this.sameLine(prev.span.end, next.span.start)) return;
    this.notes.push({
      span: { start: next.span.start, end: next.span.start },
      message: `I expected a comma or a line break between ${what}.`,
      label: "a comma is missing before this",
      hints: [`separate ${what} with \`,\` or put each on its own line`],
    });
  }

  sourceDecl = this.RULE(
    "sourceDecl",
    (): A.Item | null => {
      const kw = this.CONSUME(T.Source);
      const at = this.sp(kw).end;
      const node = this.ACTION(() =>
        this.beginItem<A.SourceDecl>({
          kind: "source",
          name: this.missingIdent(at),
          type: { kind: "missingType", span: { start: at, end: at } },
          connector: this.missingCall(at),
          span: this.sp(kw),
        }),
      );
      const name = this.identOf(this.CONSUME(T.Identifier));
      this.ACTION(() => (node.name = name));
      this.CONSUME(T.Colon);
      const type = this.SUBRULE(this.typeExpr);
      this.ACTION(() => (node.type = type));
      this.CONSUME(T.Equals);
      const connector = this.SUBRULE(this.callLike, { ARGS: ["connector"] });
      this.ACTION(() => (node.connector = connector));
      return this.ACTION(this.finishItem);
    },
    { recoveryValueFunc: this.finishItem },
  );

  streamDecl = this.RULE(
    "streamDecl",
    (): A.Item | null => {
      const kw = this.CONSUME(T.Stream);
      const node = this.ACTION(() =>
        this.beginItem<A.StreamDecl>({ kind: "stream", name: this.missingIdent(this.sp(kw).end), value: this.missingExpr(), span: this.sp(kw) }),
      );
      const name = this.identOf(this.CONSUME(T.Identifier));
      this.ACTION(() => (node.name = name));
      this.CONSUME(T.Equals);
      const value = this.SUBRULE(this.expression);
      this.ACTION(() => (node.value = value));
      return this.ACTION(this.finishItem);
    },
    { recoveryValueFunc: this.finishItem },
  );

  testDecl = this.RULE(
    "testDecl",
    (): A.Item | null => {
      const kw = this.CONSUME(T.Test);
      const node = this.ACTION(() =>
        this.beginItem<A.TestDecl>({ kind: "test", name: { kind: "string", value: "", raw: "", span: this.sp(kw) }, body: [], span: this.sp(kw) }),
      );
      const name = this.stringLit(this.CONSUME(T.StringToken));
      this.ACTION(() => (node.name = name));
      this.CONSUME(T.LCurly);
      this.MANY(() => {
        const stmt = this.SUBRULE(this.testStmt);
        this.ACTION(() => {
          if (stmt) node.body.push(stmt);
        });
      });
      this.CONSUME(T.RCurly);
      return this.ACTION(this.finishItem);
    },
    { recoveryValueFunc: this.finishItem },
  );

  testStmt = this.RULE(
    "testStmt",
    (): A.TestStmt | null =>
      this.OR([
        {
          ALT: () => {
            const kw = this.CONSUME(T.Given);
            const source = this.identOf(this.CONSUME(T.Identifier));
            this.CONSUME(T.Equals);
            const value = this.SUBRULE(this.expression);
            return this.ACTION((): A.GivenStmt => ({ kind: "given", source, value, span: this.to(this.sp(kw).start) }));
          },
        },
        {
          ALT: () => {
            const kw = this.CONSUME(T.Expect);
            const start = this.sp(kw).start;
            let ordered = false;
            this.OPTION(() => {
              this.CONSUME(T.Ordered);
              ordered = true;
            });
            const sink = this.identOf(this.CONSUME2(T.Identifier));
            this.CONSUME2(T.Equals);
            const value = this.SUBRULE2(this.expression);
            return this.ACTION((): A.ExpectStmt => ({ kind: "expect", ordered, sink, value, span: this.to(start) }));
          },
        },
        {
          // `lines = [...]` without its keyword: reported here, so the rest of the body still parses.
          ALT: () => {
            const name = this.identOf(this.CONSUME3(T.Identifier));
            this.CONSUME3(T.Equals);
            this.SUBRULE3(this.expression);
            this.ACTION(() =>
              this.notes.push({
                span: name.span,
                message: `I expected \`given\` or \`expect\` before \`${name.name}\` in the test's body.`,
                label: "keyword missing",
                hints: [`write \`given ${name.name} = ...\` for a source's input, or \`expect ${name.name} = ...\` for a sink's expected output`],
              }),
            );
            return null;
          },
        },
      ]),
    { recoveryValueFunc: () => null },
  );

  pipelineStmt = this.RULE(
    "pipelineStmt",
    (): A.Item | null => {
      const expr = this.SUBRULE(this.expression);
      return this.ACTION((): A.PipelineStmt => {
        const pipe: A.PipeExpr = expr.kind === "pipe" ? expr : { kind: "pipe", head: expr, steps: [], span: expr.span };
        return { kind: "pipeline", pipe, span: pipe.span };
      });
    },
    { recoveryValueFunc: () => null },
  );

  // ------------------------------------------------------------ types

  typeExpr = this.RULE(
    "typeExpr",
    (): A.TypeExpr => {
      const start = this.nextStart();
      let type = this.OR([
        {
          ALT: (): A.TypeExpr => {
            const name = this.identOf(this.CONSUME(T.Identifier));
            return { kind: "namedType", name, span: name.span };
          },
        },
        { ALT: () => this.SUBRULE(this.recordType) },
      ]);
      this.MANY(() => {
        this.CONSUME(T.LBracket);
        this.CONSUME(T.RBracket);
        this.ACTION(() => (type = { kind: "arrayType", element: type, span: this.to(start) }));
      });
      return type;
    },
    { recoveryValueFunc: this.missingType },
  );

  recordType = this.RULE(
    "recordType",
    (): A.TypeExpr => {
      const open = this.CONSUME(T.LCurly);
      const fields: A.FieldTypeExpr[] = [];
      let comma = true;
      this.MANY(() => {
        const field = this.SUBRULE(this.fieldType);
        this.ACTION(() => {
          if (!field) return;
          this.checkSeparated(fields.at(-1), field, comma, "fields");
          fields.push(field);
          comma = false;
        });
        this.OPTION(() => {
          this.CONSUME(T.Comma);
          comma = true;
        });
      });
      this.CONSUME(T.RCurly);
      return this.ACTION(() => ({ kind: "recordType", fields, span: this.to(this.sp(open).start) }));
    },
    { recoveryValueFunc: this.missingType },
  );

  fieldType = this.RULE(
    "fieldType",
    (): A.FieldTypeExpr | null => {
      const name = this.identOf(this.CONSUME(T.AnyName));
      let optional = false;
      this.OPTION(() => {
        this.CONSUME(T.Question);
        optional = true;
      });
      this.CONSUME(T.Colon);
      const type = this.SUBRULE(this.typeExpr);
      return this.ACTION(() => ({ kind: "fieldType", name, optional, type, span: this.to(name.span.start) }));
    },
    { recoveryValueFunc: () => null },
  );

  // ------------------------------------------------------------ expressions

  expression = this.RULE(
    "expression",
    (): A.Expr => {
      const head = this.SUBRULE(this.lambdaOrCond);
      const steps: A.PipeStep[] = [];
      this.MANY({
        GATE: () => this.pipeMayContinue(),
        DEF: () => {
          const step = this.SUBRULE(this.pipeStep);
          this.ACTION(() => {
            if (step) steps.push(step);
          });
        },
      });
      return this.ACTION(() => (steps.length === 0 ? head : { kind: "pipe", head, steps, span: this.to(head.span.start) }));
    },
    { recoveryValueFunc: this.missingExpr },
  );

  pipeStep = this.RULE(
    "pipeStep",
    (): A.PipeStep | null => {
      const pipeSpan = this.sp(this.CONSUME(T.PipeOp));
      return this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Sink);
            const connector = this.SUBRULE(this.callLike, { ARGS: ["sink"] });
            let as: A.Ident | undefined;
            this.OPTION(() => {
              this.CONSUME(T.As);
              as = this.identOf(this.CONSUME(T.Identifier));
            });
            return this.ACTION((): A.SinkStep => ({ kind: "sink", connector, ...(as ? { as } : {}), pipeSpan, span: this.to(pipeSpan.start) }));
          },
        },
        {
          ALT: () => {
            const call = this.SUBRULE2(this.callLike, { ARGS: ["op"] });
            return this.ACTION((): A.OperatorStep => ({ kind: "op", call, pipeSpan, span: this.to(pipeSpan.start) }));
          },
        },
      ]);
    },
    { recoveryValueFunc: () => null },
  );

  /** An operator step, a sink's or a source's connector: `name(args)`, where a bare `name` is reported but kept. */
  callLike = this.RULE(
    "callLike",
    (what?: "op" | "sink" | "connector"): A.CallExpr => {
      const callee = this.identOf(this.CONSUME(T.Identifier));
      let list: { args: A.Arg[]; span: Span } | undefined;
      this.OPTION(() => (list = this.SUBRULE(this.argList)));
      return this.ACTION((): A.CallExpr => {
        if (!list) {
          const at = callee.span.end;
          if (callee.name !== "") {
            const role = what === "op" ? "an operator" : "a connector";
            this.notes.push({
              span: callee.span,
              message: `\`${callee.name}\` is ${role}, so it needs an argument list, even an empty one.`,
              label: "parentheses missing",
              hints: [`write \`${callee.name}()\``],
            });
          }
          list = { args: [], span: { start: at, end: at } };
        }
        return { kind: "call", callee, args: list.args, argsSpan: list.span, span: this.to(callee.span.start) };
      });
    },
    { recoveryValueFunc: (e) => this.missingCall(this.missingAt(e).start) },
  );

  argList = this.RULE(
    "argList",
    (): { args: A.Arg[]; span: Span } => {
      const open = this.CONSUME(T.LParen);
      const args = this.inBracket(open, () => this.commaList((i) => this.subrule(i, this.arg), "arguments"));
      this.CONSUME(T.RParen);
      return this.ACTION(() => ({ args, span: this.to(this.sp(open).start) }));
    },
    { recoveryValueFunc: (e) => ({ args: [], span: this.missingAt(e) }) },
  );

  arg = this.RULE(
    "arg",
    (): A.Arg => {
      const start = this.nextStart();
      return this.OR([
        {
          ALT: () => {
            const name = this.identOf(this.CONSUME(T.AnyName));
            this.CONSUME(T.Colon);
            const value = this.SUBRULE(this.expression);
            return this.ACTION((): A.Arg => ({ kind: "arg", name, value, span: this.to(start) }));
          },
        },
        {
          ALT: () => {
            const value = this.SUBRULE2(this.expression);
            return this.ACTION((): A.Arg => ({ kind: "arg", value, span: value.span }));
          },
        },
      ]);
    },
    { recoveryValueFunc: (e): A.Arg => ({ kind: "arg", value: this.missingExpr(e), span: this.missingAt(e) }) },
  );

  lambdaOrCond = this.RULE(
    "lambdaOrCond",
    (): A.Expr =>
      this.OR({
        IGNORE_AMBIGUITIES: true,
        DEF: [{ GATE: () => this.lambdaAhead(), ALT: () => this.SUBRULE(this.lambda) }, { ALT: () => this.SUBRULE(this.conditional) }],
      }),
    { recoveryValueFunc: this.missingExpr },
  );

  /** `x =>`, `() =>`, `(a, b) =>` ahead: decided by scanning, as the parameter list can be any length. */
  private lambdaAhead(): boolean {
    const la = (k: number) => this.LA(k).tokenType;
    if (la(1) === T.Identifier) return la(2) === T.Arrow;
    if (la(1) !== T.LParen) return false;
    let k = 2;
    if (la(k) === T.RParen) return la(k + 1) === T.Arrow;
    for (;;) {
      if (la(k) !== T.Identifier) return false;
      k++;
      if (la(k) === T.RParen) return la(k + 1) === T.Arrow;
      if (la(k) !== T.Comma) return false;
      k++;
      if (la(k) === T.RParen) return la(k + 1) === T.Arrow;
    }
  }

  lambda = this.RULE(
    "lambda",
    (): A.Expr => {
      const start = this.nextStart();
      const params: A.Ident[] = [];
      this.OR([
        { ALT: () => params.push(this.identOf(this.CONSUME(T.Identifier))) },
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            this.OPTION(() => {
              params.push(this.identOf(this.CONSUME2(T.Identifier)));
              this.MANY(() => {
                this.CONSUME(T.Comma);
                params.push(this.identOf(this.CONSUME3(T.Identifier)));
              });
              this.OPTION2(() => this.CONSUME2(T.Comma));
            });
            this.CONSUME(T.RParen);
          },
        },
      ]);
      this.CONSUME(T.Arrow);
      const body = this.SUBRULE(this.lambdaOrCond);
      return this.ACTION((): A.LambdaExpr => ({ kind: "lambda", params, body, span: this.to(start) }));
    },
    { recoveryValueFunc: this.missingExpr },
  );

  conditional = this.RULE(
    "conditional",
    (): A.Expr => {
      let expr = this.SUBRULE(this.coalesce);
      this.OPTION(() => {
        this.CONSUME(T.Question);
        const then = this.SUBRULE(this.lambdaOrCond);
        this.CONSUME(T.Colon);
        const otherwise = this.SUBRULE2(this.lambdaOrCond);
        this.ACTION(() => (expr = { kind: "conditional", test: expr, then, else: otherwise, span: this.to(expr.span.start) }));
      });
      return expr;
    },
    { recoveryValueFunc: this.missingExpr },
  );

  /**
   * One precedence level. `mistaken` are tokens people write for one of its operators (`and` for
   * `&&`, `=` for `==` inside brackets): read as that operator, with an error that says so, so the
   * rest of the expression is still checked rather than lost to a missing-comma cascade.
   */
  private binaryLevel(name: string, operand: (occurrence: number) => A.Expr, ops: TokenType[], mistaken: { token: TokenType; image: string; means: A.BinaryOp; inBrackets?: boolean }[] = []) {
    const isMistaken = () => {
      const t = this.LA(1);
      return mistaken.find((m) => t.tokenType === m.token && t.image === m.image && (!m.inBrackets || this.brackets.length > 0));
    };
    return this.RULE(
      name,
      (): A.Expr => {
        let left = operand(1);
        this.MANY({
          GATE: () => ops.includes(this.LA(1).tokenType) || isMistaken() !== undefined,
          DEF: () => {
            const wrong = isMistaken();
            const op = this.OR([...ops, ...new Set(mistaken.map((m) => m.token))].map((t) => ({ ALT: () => this.CONSUME(t) })));
            const opSpan = this.sp(op);
            const right = operand(2);
            this.ACTION(() => {
              if (wrong) this.notes.push({ span: opSpan, message: `Flow has no operator \`${wrong.image}\`.`, label: "not an operator", hints: [`did you mean \`${wrong.means}\`?`] });
              left = { kind: "binary", op: wrong ? wrong.means : (op.image as A.BinaryOp), opSpan, left, right, span: this.to(left.span.start) };
            });
          },
        });
        return left;
      },
      { recoveryValueFunc: this.missingExpr },
    );
  }

  // Each level names its operand through a closure, as the rules below are defined after it.
  multiplicative = this.binaryLevel("multiplicative", (i) => this.subrule(i, this.unary), [T.Star, T.Slash, T.Percent]);
  additive = this.binaryLevel("additive", (i) => this.subrule(i, this.multiplicative), [T.Plus, T.Minus]);
  comparison = this.binaryLevel("comparison", (i) => this.subrule(i, this.additive), [T.Lt, T.LtEq, T.Gt, T.GtEq]);
  equality = this.binaryLevel("equality", (i) => this.subrule(i, this.comparison), [T.EqEq, T.NotEq], [{ token: T.Equals, image: "=", means: "==", inBrackets: true }]);
  logicalAnd = this.binaryLevel("logicalAnd", (i) => this.subrule(i, this.equality), [T.AndAnd], [{ token: T.Identifier, image: "and", means: "&&" }]);
  logicalOr = this.binaryLevel("logicalOr", (i) => this.subrule(i, this.logicalAnd), [T.OrOr], [{ token: T.Identifier, image: "or", means: "||" }]);
  coalesce = this.binaryLevel("coalesce", (i) => this.subrule(i, this.logicalOr), [T.QuestionQuestion]);

  unary = this.RULE(
    "unary",
    (): A.Expr =>
      this.OR([
        {
          ALT: () => {
            const op = this.OR2([{ ALT: () => this.CONSUME(T.Minus) }, { ALT: () => this.CONSUME(T.Bang) }]);
            const start = this.sp(op).start;
            const operand = this.SUBRULE(this.unary);
            return this.ACTION((): A.Expr => ({ kind: "unary", op: op.image as A.UnaryOp, operand, span: this.to(start) }));
          },
        },
        { ALT: () => this.SUBRULE(this.postfix) },
      ]),
    { recoveryValueFunc: this.missingExpr },
  );

  postfix = this.RULE(
    "postfix",
    (): A.Expr => {
      let expr = this.SUBRULE(this.primary);
      this.MANY(() =>
        this.OR([
          {
            ALT: () => {
              this.CONSUME(T.Dot);
              const property = this.identOf(this.CONSUME(T.AnyName));
              this.ACTION(() => (expr = { kind: "member", object: expr, property, span: this.to(expr.span.start) }));
            },
          },
          {
            ALT: () => {
              const open = this.CONSUME(T.LBracket);
              const index = this.inBracket(open, () => this.SUBRULE(this.expression));
              this.CONSUME(T.RBracket);
              this.ACTION(() => (expr = { kind: "index", object: expr, index, span: this.to(expr.span.start) }));
            },
          },
          {
            // `r.f(x)`, `f(x)(y)`: reported; the expression is kept without the call.
            ALT: () => {
              const list = this.SUBRULE(this.argList);
              this.ACTION(() =>
                this.notes.push({
                  span: list.span,
                  message: "I can only call a function by its name, like `f(x)`, not the result of an expression.",
                  label: "an argument list after an expression",
                  hints:
                    expr.kind === "member" && expr.property.name !== ""
                      ? [`Flow has no methods: pass the value as an argument, \`${expr.property.name}(value, ...)\``]
                      : [],
                }),
              );
            },
          },
        ]),
      );
      return expr;
    },
    { recoveryValueFunc: this.missingExpr },
  );

  primary = this.RULE(
    "primary",
    (): A.Expr =>
      this.OR([
        {
          ALT: () => {
            const t = this.CONSUME(T.IntLiteral);
            return { kind: "int", value: Number(t.image), raw: t.image, span: this.sp(t) };
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(T.FloatLiteral);
            return { kind: "float", value: Number(t.image), raw: t.image, span: this.sp(t) };
          },
        },
        { ALT: () => this.stringLit(this.CONSUME(T.StringToken)) },
        {
          ALT: (): A.Expr => {
            const t = this.CONSUME(T.DurationLiteral);
            return { kind: "duration", ms: T.decodeDuration(t.image).ms ?? 0, raw: t.image, span: this.sp(t) };
          },
        },
        {
          // Already reported by the lexer (FLOW1006); kept as the duration it most likely meant.
          ALT: (): A.Expr => {
            const t = this.CONSUME(T.BadDuration);
            const ms = T.decodeDuration(t.image).ms;
            return ms === undefined ? { kind: "missing", span: this.sp(t) } : { kind: "duration", ms, raw: t.image, span: this.sp(t) };
          },
        },
        { ALT: (): A.Expr => ({ kind: "bool", value: true, span: this.sp(this.CONSUME(T.True)) }) },
        { ALT: (): A.Expr => ({ kind: "bool", value: false, span: this.sp(this.CONSUME(T.False)) }) },
        {
          ALT: () => {
            const name = this.identOf(this.CONSUME(T.Identifier));
            let list: { args: A.Arg[]; span: Span } | undefined;
            this.OPTION(() => (list = this.SUBRULE(this.argList)));
            return this.ACTION((): A.Expr =>
              list
                ? { kind: "call", callee: name, args: list.args, argsSpan: list.span, span: this.to(name.span.start) }
                : { kind: "name", name, span: name.span },
            );
          },
        },
        {
          ALT: () => {
            const open = this.CONSUME(T.LParen);
            const expr = this.inBracket(open, () => this.SUBRULE(this.expression));
            this.CONSUME(T.RParen);
            return this.ACTION((): A.Expr => ({ kind: "paren", expr, span: this.to(this.sp(open).start) }));
          },
        },
        { ALT: () => this.SUBRULE(this.arrayLit) },
        { ALT: () => this.SUBRULE(this.recordLit) },
      ]),
    { recoveryValueFunc: this.missingExpr },
  );

  arrayLit = this.RULE(
    "arrayLit",
    (): A.Expr => {
      const open = this.CONSUME(T.LBracket);
      const elements = this.inBracket(open, () => this.commaList((i) => this.subrule(i, this.expression), "elements"));
      this.CONSUME(T.RBracket);
      return this.ACTION((): A.Expr => ({ kind: "array", elements, span: this.to(this.sp(open).start) }));
    },
    { recoveryValueFunc: this.missingExpr },
  );

  recordLit = this.RULE(
    "recordLit",
    (): A.Expr => {
      const open = this.CONSUME(T.LCurly);
      const fields = this.inBracket(open, () => this.commaList((i) => this.subrule(i, this.fieldInit), "fields"));
      this.CONSUME(T.RCurly);
      return this.ACTION((): A.Expr => ({ kind: "record", fields, span: this.to(this.sp(open).start) }));
    },
    { recoveryValueFunc: this.missingExpr },
  );

  fieldInit = this.RULE(
    "fieldInit",
    (): A.RecordFieldInit | null => {
      const name = this.identOf(this.CONSUME(T.AnyName));
      this.CONSUME(T.Colon);
      const value = this.SUBRULE(this.expression);
      return this.ACTION(() => ({ kind: "fieldInit", name, value, span: this.to(name.span.start) }));
    },
    { recoveryValueFunc: () => null },
  );
}

let shared: FlowParser | undefined;

function flowParser(): FlowParser {
  shared ??= new FlowParser();
  return shared;
}

// ---------------------------------------------------------------- chunks (item-level resynchronisation)

const STATEMENT_STARTS = new Set<TokenType>([
  T.Identifier,
  T.IntLiteral,
  T.FloatLiteral,
  T.StringLiteral,
  T.UnterminatedString,
  T.DurationLiteral,
  T.BadDuration,
  T.True,
  T.False,
  T.Bang,
]);
const EXPRESSION_ENDS = new Set<TokenType>([
  T.Identifier,
  T.IntLiteral,
  T.FloatLiteral,
  T.StringLiteral,
  T.UnterminatedString,
  T.DurationLiteral,
  T.BadDuration,
  T.True,
  T.False,
  T.RParen,
  T.RBracket,
  T.RCurly,
]);
const itemKeywords = new Set(T.ITEM_KEYWORDS);

/** Opening brackets without a closing partner; a closer of another kind closes the brackets inside it. */
function unclosedOpeners(tokens: IToken[]): Set<IToken> {
  const unclosed = new Set<IToken>();
  const stack: IToken[] = [];
  for (const t of tokens) {
    if (OPENERS.has(t.tokenType)) stack.push(t);
    const open = CLOSERS.get(t.tokenType);
    if (!open) continue;
    const at = stack.findLastIndex((o) => o.tokenType === open);
    if (at < 0) continue;
    for (const inner of stack.splice(at).slice(1)) unclosed.add(inner);
  }
  for (const o of stack) unclosed.add(o);
  return unclosed;
}

interface TokenStream {
  tokens: IToken[];
  text: string;
  index: Map<IToken, number>;
  firstOnLine: boolean[];
}

function tokenStream(tokens: IToken[], text: string): TokenStream {
  const index = new Map<IToken, number>();
  const firstOnLine: boolean[] = [];
  tokens.forEach((t, i) => {
    index.set(t, i);
    const prevEnd = i === 0 ? 0 : tokenEnd(tokens[i - 1]!);
    firstOnLine.push(i === 0 || text.slice(prevEnd, t.startOffset).includes("\n"));
  });
  return { tokens, text, index, firstOnLine };
}

/** An item keyword used as a field name (`r.type`, `{ source: x }`, `{ type?: string }`) starts nothing. */
function startsItemByKeyword(s: TokenStream, i: number): boolean {
  const t = s.tokens[i]!;
  if (!itemKeywords.has(t.tokenType)) return false;
  if (s.tokens[i - 1]?.tokenType === T.Dot) return false;
  const next = s.tokens[i + 1]?.tokenType;
  return next !== T.Colon && !(next === T.Question && s.tokens[i + 2]?.tokenType === T.Colon);
}

/**
 * Splits the tokens into chunks of whole items, parsed one chunk at a time so that a syntax error
 * never swallows the next item. A chunk starts at an item keyword (not used as a field name), and
 * at a name or literal that is first on its line, outside brackets, right after something that
 * ends an expression. The grammar has no juxtaposition, so in a valid program these are exactly
 * the places where an item begins; only broken programs are affected.
 */
function splitIntoChunks(s: TokenStream): Array<{ from: number; to: number }> {
  const chunks: Array<{ from: number; to: number }> = [];
  let from = 0;
  let depth = 0;
  for (let i = 0; i < s.tokens.length; i++) {
    const t = s.tokens[i]!;
    if (i > from) {
      const prev = s.tokens[i - 1]!;
      const boundary =
        startsItemByKeyword(s, i) || (depth === 0 && s.firstOnLine[i]! && STATEMENT_STARTS.has(t.tokenType) && EXPRESSION_ENDS.has(prev.tokenType));
      if (boundary) {
        chunks.push({ from, to: i });
        from = i;
        depth = 0;
      }
    }
    if (OPENERS.has(t.tokenType)) depth++;
    else if (CLOSERS.has(t.tokenType)) depth = Math.max(0, depth - 1);
  }
  if (from < s.tokens.length) chunks.push({ from, to: s.tokens.length });
  return chunks;
}

/** After input the grammar could not place, parsing resumes at the next line that can start an item. */
function resumePoint(s: TokenStream, after: number, to: number): number | undefined {
  for (let i = after + 1; i < to; i++) {
    if (s.firstOnLine[i] && (startsItemByKeyword(s, i) || STATEMENT_STARTS.has(s.tokens[i]!.tokenType))) return i;
  }
  return undefined;
}

// ---------------------------------------------------------------- parse

export interface ParseResult {
  program: A.Program;
  diagnostics: Diagnostic[];
}

/** Parses the tokens of one file (from `tokenize`) into a Program; syntax errors become diagnostics. */
export function parseTokens(lexed: T.LexResult, text: string, file: string): ParseResult {
  const { tokens, comments } = lexed;
  const s = tokenStream(tokens, text);
  const firstTokens = new Set(tokens.filter((_, i) => s.firstOnLine[i]));
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const parser = flowParser();
  const items: A.Item[] = [];
  const diagnostics: Diagnostic[] = [];
  /** Stretches of text whose chunk had a syntax error. */
  const troubled: Span[] = [];

  for (const chunk of splitIntoChunks(s)) {
    let from = chunk.from;
    while (from < chunk.to) {
      const part = tokens.slice(from, chunk.to);
      const start = part[0]!.startOffset;
      pendingInfo = [];
      parser.begin(part, text, start, firstTokens);
      try {
        parser.items();
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        diagnostics.push(tooDeep(part, file));
        troubled.push({ start, end: tokenEnd(part.at(-1)!) });
        break;
      }
      // Expression statements that begin after a syntax error are debris of the recovery.
      const firstError = Math.min(...parser.errors.map((e) => found(e.token, { s, file, chunkFrom: chunk.from, chunkTo: chunk.to }).span.start));
      items.push(...parser.parsed.filter((it) => it.kind !== "pipeline" || it.span.start < firstError));
      const current = parser.currentItem;
      if (current && !parser.parsed.includes(current)) {
        current.span = { start: current.span.start, end: Math.max(current.span.end, tokenEnd(part.at(-1)!)) };
        items.push(current);
      }
      const ctx: ErrorContext = { s, file, chunkFrom: chunk.from, chunkTo: chunk.to };
      // Echoes are dropped: errors after another on the same line, input left over after an
      // earlier error in the chunk, and errors right after a lexical error.
      const linesWithErrors = new Set<number>();
      let hadError = false;
      for (const e of parser.errors) {
        const d = describeError(e, ctx);
        const line = lineOf(d.span.start);
        const leftOver = e.name === "NotAllInputParsedException" || pendingInfo[Number(e.message.slice(1))]?.expected === EOF;
        const echo =
          linesWithErrors.has(line) || (hadError && leftOver) || diagnostics.some((o) => o.span.start === d.span.start) || echoesLexError(d.span, ctx, lexed);
        hadError = true;
        if (echo) continue;
        linesWithErrors.add(line);
        diagnostics.push(d);
      }
      if (hadError || parser.notes.length > 0) troubled.push({ start, end: tokenEnd(part.at(-1)!) });
      for (const n of parser.notes) {
        if (echoesLexError(n.span, ctx, lexed) || diagnostics.some((o) => o.span.start === n.span.start)) continue;
        diagnostics.push(diagnostic("FLOW1001", file, n.span, n.message, { ...(n.label ? { label: n.label } : {}), hints: n.hints ?? [] }));
      }
      const redundant = parser.errors.find((e) => e.name === "NotAllInputParsedException");
      const at = redundant ? s.index.get(redundant.token) : undefined;
      const resume = at === undefined ? undefined : resumePoint(s, at, chunk.to);
      if (resume === undefined) break;
      from = resume;
    }
  }

  items.sort((a, b) => a.span.start - b.span.start);
  reportItemsOnOneLine(items, text, file, diagnostics, [...troubled, ...lexed.diagnostics.map((d) => d.span)]);
  return {
    program: { kind: "program", items, comments, span: { start: 0, end: text.length } },
    diagnostics,
  };
}

/**
 * The parser recurses once per level of nesting. Brackets are limited before parsing (phase 1's
 * nesting.ts); this is the last resort for other nesting (thousands of `-` or `? :` in a row).
 */
function tooDeep(part: IToken[], file: string): Diagnostic {
  const start = part[0]!.startOffset;
  return diagnostic(
    "FLOW1008",
    file,
    { start, end: tokenEnd(part.at(-1)!) },
    "This is nested too deeply for me to read: the parser ran out of stack.",
    {
      label: "nested too deeply",
      hints: ["split it into smaller pieces with `const` or `stream` declarations"],
    },
  );
}

/**
 * A syntax error right after a lexical one is usually its echo: an unterminated string or comment
 * swallows the closing brackets after it, and an unknown character was probably meant as an operator.
 */
function echoesLexError(span: Span, ctx: ErrorContext, lexed: T.LexResult): boolean {
  const { tokens } = ctx.s;
  for (let i = ctx.chunkFrom; i < ctx.chunkTo && tokens[i]!.startOffset < span.start; i++) {
    if (tokens[i]!.tokenType === T.UnterminatedString) return true;
  }
  if (lexed.unterminatedComment !== undefined && lexed.unterminatedComment < span.start) return true;
  let before = 0;
  for (let i = ctx.chunkFrom; i < ctx.chunkTo && tokens[i]!.startOffset < span.start; i++) before = tokenEnd(tokens[i]!);
  return lexed.unknown.some((u) => u.start >= before && u.start < span.start);
}

/** Juxtaposed items (`const a = 1 const b = 2`, `f(x) g(y)`) parse, but almost always hide a missing operator. */
function reportItemsOnOneLine(items: A.Item[], text: string, file: string, out: Diagnostic[], troubled: Span[]): void {
  for (let i = 1; i < items.length; i++) {
    const prev = items[i - 1]!;
    const next = items[i]!;
    if (next.span.start < prev.span.end || text.slice(prev.span.end, next.span.start).includes("\n")) continue;
    if (troubled.some((t) => t.start <= next.span.end && t.end >= prev.span.start)) continue;
    const word = text.slice(next.span.start, next.span.end).split(/\s/)[0]!;
    out.push(
      diagnostic(
        "FLOW1001",
        file,
        { start: next.span.start, end: next.span.start + word.length },
        `I expected a line break before \`${word}\`: each declaration and pipeline starts on its own line.`,
        {
          label: "a new item starts here",
          hints: ["if this continues the line before it, an operator or a comma may be missing"],
        },
      ),
    );
  }
}

// ---------------------------------------------------------------- messages

interface ErrorContext {
  s: TokenStream;
  file: string;
  chunkFrom: number;
  chunkTo: number;
}

interface Found {
  token?: IToken;
  index: number;
  span: Span;
  text: string;
}

/** The token an error is about; the end of a chunk is really the first token of the next item. */
function found(t: IToken, ctx: ErrorContext): Found {
  if (isReal(t)) {
    const index = ctx.s.index.get(t) ?? ctx.chunkTo;
    return { token: t, index, span: { start: t.startOffset, end: tokenEnd(t) }, text: describeToken(t) };
  }
  const next = ctx.s.tokens[ctx.chunkTo];
  if (next) return { token: next, index: ctx.chunkTo, span: { start: next.startOffset, end: tokenEnd(next) }, text: describeToken(next) };
  const end = ctx.s.text.length;
  return { index: ctx.chunkTo, span: { start: end, end }, text: "the end of the file" };
}

function describeToken(t: IToken): string {
  const meta = T.metaOf(t.tokenType);
  if (meta?.category === "keyword") return `the keyword \`${t.image}\``;
  if (meta?.category === "identifier") return `the name \`${t.image}\``;
  if (t.tokenType === T.StringLiteral || t.tokenType === T.UnterminatedString) {
    return `the string ${t.image.length > 24 ? t.image.slice(0, 20) + '…"' : t.image}`;
  }
  return `\`${t.image}\``;
}

function describeError(e: IRecognitionException, ctx: ErrorContext): Diagnostic {
  const info = pendingInfo[Number(e.message.slice(1))];
  if (!info) return diagnostic("FLOW1001", ctx.file, found(e.token, ctx).span, "I could not read this part of the file.", {});
  const f = found(info.actual, ctx);
  const prev = isReal(info.previous) ? info.previous : undefined;
  const { file } = ctx;

  if (info.kind === "redundant" || info.expected === EOF) {
    const hints = redundantHints(f, ctx);
    return diagnostic("FLOW1001", file, f.span, `I did not expect ${f.text} here.`, { label: "unexpected", hints });
  }

  if (info.kind === "mismatch" && info.expected) {
    const open = CLOSERS.get(info.expected);
    if (open) return closerMismatch(info, open, f, ctx);
    const want = expectedToken(info.expected, info.ruleName, prev);
    return diagnostic("FLOW1001", file, f.span, `I expected ${want}, but found ${f.text}.`, {
      label: `expected ${T.metaOf(info.expected)?.describe ?? (info.expected === T.StringToken ? "a string" : "a name")}`,
      hints: mismatchHints(info, f, prev),
    });
  }

  const want = expectedByRule(info.ruleName, prev);
  const hints: string[] = [];
  if (f.token?.tokenType === T.PipeOp && !prev) hints.push("a pipeline starts with the name of a source or stream: `clicks |> ...`");
  return diagnostic("FLOW1001", file, f.span, `I expected ${want}, but found ${f.text}.`, { label: "unexpected", hints });
}

function closerMismatch(info: ErrorInfo, open: TokenType, f: Found, ctx: ErrorContext): Diagnostic {
  const { s } = ctx;
  const close = info.expected!;
  let opener: IToken | undefined;
  let depth = 0;
  for (let i = Math.min(f.index, ctx.chunkTo) - 1; i >= ctx.chunkFrom; i--) {
    const t = s.tokens[i]!;
    if (t.tokenType === close) depth++;
    else if (t.tokenType === open) {
      if (depth === 0) {
        opener = t;
        break;
      }
      depth--;
    }
  }
  if (info.ruleName === "testDecl" && f.token && f.token.tokenType !== EOF) {
    return diagnostic("FLOW1001", ctx.file, f.span, `I expected ${expectedByRule("testStmt", undefined)}, but found ${f.text}.`, {
      label: "unexpected",
      hints: ["a test's body is made of `given SOURCE = [...]` and `expect [ordered] SINK = [...]` lines"],
    });
  }
  const what = bracketRole(info.ruleName, opener, s);
  const closeText = T.metaOf(close)!.describe;
  const labels: Label[] = opener ? [{ span: { start: opener.startOffset, end: tokenEnd(opener) }, message: `the ${what} opens here` }] : [];
  const hints: string[] = [];
  if (f.token && s.firstOnLine[f.index] && f.index > ctx.chunkFrom) {
    const line = s.text.slice(0, tokenEnd(s.tokens[f.index - 1]!)).split("\n").length;
    hints.push(`add ${closeText} at the end of line ${line}`);
  }
  return diagnostic("FLOW1001", ctx.file, f.span, `I expected ${closeText} to close the ${what}${opener ? " opened here" : ""}, but found ${f.text}.`, {
    label: `expected ${closeText}`,
    labels,
    hints,
  });
}

function bracketRole(ruleName: string, opener: IToken | undefined, s: TokenStream): string {
  const before = opener ? s.tokens[(s.index.get(opener) ?? 0) - 1] : undefined;
  switch (ruleName) {
    case "argList":
      return before?.tokenType === T.Identifier ? `argument list of \`${before.image}\`` : "argument list";
    case "lambda":
      return "parameter list";
    case "primary":
      return "parenthesis";
    case "arrayLit":
      return "array";
    case "postfix":
      return "index";
    case "recordLit":
      return "record";
    case "recordType":
      return "record type";
    case "configDecl":
      return "config block";
    case "testDecl":
      return "test's body";
    case "importDecl":
      return "list of imported names";
    case "typeExpr":
      return "array type";
    default:
      return "bracket";
  }
}

function expectedToken(expected: TokenType, rule: string, prev: IToken | undefined): string {
  const p = prev?.tokenType;
  switch (expected) {
    case T.Identifier:
      switch (rule) {
        case "header":
          return "the pipeline's name after `pipeline`";
        case "importDecl":
          return "the name of a function to import";
        case "typeDecl":
          return "the type's name after `type`";
        case "constDecl":
          return "the constant's name after `const`";
        case "sourceDecl":
          return "the source's name after `source`";
        case "streamDecl":
          return "the stream's name after `stream`";
        case "testStmt":
          return p === T.Given ? "the name of a source after `given`" : "the name of a sink after `expect`";
        case "pipeStep":
          return "a name for the sink after `as`";
        case "callLike":
          if (p === T.PipeOp) return "an operator such as `map(...)`, or `sink`, after `|>`";
          if (p === T.Sink) return "a connector such as `file(...)` or `stdout()` after `sink`";
          return "a connector such as `file(...)` or `stdin()`";
        case "lambda":
          return "a parameter name";
        case "typeExpr":
          return "a type";
        default:
          return "a name";
      }
    case T.AnyName:
      if (rule === "configEntry") return "a config key";
      if (rule === "postfix") return "a field name after `.`";
      return "a field name";
    case T.Colon:
      if (rule === "sourceDecl") return "`:` and the source's element type after its name";
      if (rule === "fieldType") return "`:` and the field's type";
      if (rule === "conditional") return "`:` and the value for when the condition is false";
      return prev ? `\`:\` after \`${prev.image}\`` : "`:`";
    case T.Equals:
      if (rule === "sourceDecl") return "`=` and the source's connector";
      if (rule === "typeDecl") return "`=` and the type";
      if (rule === "testStmt") return "`=` and a list of elements";
      return "`=` and a value";
    case T.LCurly:
      if (rule === "configDecl") return "`{` to open the config block";
      if (rule === "testDecl") return "`{` to open the test's body";
      if (rule === "importDecl") return "`{` and the names to import";
      return "`{`";
    case T.StringToken:
      if (rule === "importDecl") return 'the module\'s path as a string, like `"./udfs.ts"`';
      if (rule === "testDecl") return 'the test\'s name as a string, like `test "counts words" { ... }`';
      return "a string";
    case T.From:
      return "`from` and the module's path";
    case T.Arrow:
      return "`=>` and the lambda's body";
    default:
      return T.metaOf(expected)?.describe ?? expected.name;
  }
}

function mismatchHints(info: ErrorInfo, f: Found, prev: IToken | undefined): string[] {
  if (info.expected === T.Colon && info.ruleName === "sourceDecl") return ["a source declares the type of its elements: `source lines: string = stdin()`"];
  if (info.expected === T.Colon && info.ruleName === "fieldInit" && prev) return [`every field of a record needs a value: \`${prev.image}: ${prev.image}\``];
  if (info.expected === T.Equals && info.ruleName === "sourceDecl")
    return ['a source reads from a connector: `source clicks: Click = file("clicks.jsonl", format: "jsonl")`'];
  if (info.expected === T.Identifier && info.ruleName === "callLike" && f.token && T.metaOf(f.token.tokenType)?.keyword) {
    return [`\`${f.token.image}\` is a keyword and cannot name an operator or a connector`];
  }
  return [];
}

function expectedByRule(rule: string, prev: IToken | undefined): string {
  switch (rule) {
    case "items":
    case "item":
      return "a declaration (`pipeline`, `import`, `type`, `const`, `config`, `source`, `stream`, `test`) or a pipeline";
    case "pipeStep":
      return "an operator such as `map(...)`, or `sink`, after `|>`";
    case "typeExpr":
    case "fieldType":
    case "recordType":
      return "a type, such as `string`, `int[]` or `{ name: string }`";
    case "testStmt":
      return "`given` or `expect` in the test's body";
    default: {
      const after = prev && T.metaOf(prev.tokenType)?.category !== "identifier" ? ` after \`${prev.image}\`` : "";
      return `an expression${after}`;
    }
  }
}

function redundantHints(f: Found, ctx: ErrorContext): string[] {
  const t = f.token?.tokenType;
  if (t && CLOSERS.has(t)) return [`there is no ${T.metaOf(CLOSERS.get(t)!)!.describe} for it to close`];
  const first = ctx.s.tokens[ctx.chunkFrom];
  if (t === T.Equals && first?.tokenType === T.Identifier && f.index === ctx.chunkFrom + 1) {
    return [`to name a stream, write \`stream ${first.image} = ...\``];
  }
  if (t === T.PipeOp && first?.tokenType === T.Source) {
    return ["a source declaration ends with its connector; start the pipeline on its own line with the source's name"];
  }
  if (t === T.PipeOp && f.index === ctx.chunkFrom) return ["a pipeline starts with the name of a source or stream: `lines |> ...`"];
  if (t === T.Arrow) return ["a lambda's parameters are a name or a parenthesised list: `x => ...`, `(a, b) => ...`"];
  return [];
}
