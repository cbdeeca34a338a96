// Signature help for operators, connectors, window kinds and built-ins: the call whose argument list
// holds the cursor is found on the tokens (the text being typed is rarely a whole program), by
// walking back to the unclosed `(` and reading the name before it and what comes before that
// (`|>` for an operator, `sink` or a source's `=` for a connector). The active parameter is the
// named argument being written, else the number of commas before the cursor.
import type { SignatureHelp } from "vscode-languageserver";
import type { IToken } from "chevrotain";
import * as T from "../../grammar/tokens.js";
import { parameterName, parametersOf, signatureOf } from "./describe.js";
import type { FlowDocument } from "./document.js";

export function signatureHelp(d: FlowDocument, offset: number): SignatureHelp | null {
  const tokens = T.tokenize(d.text, d.file.path).tokens.filter((t) => t.startOffset < offset);
  let depth = 0;
  let commas = 0;
  let named: string | undefined;
  let open = -1;
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i]!.tokenType;
    if (t === T.RParen || t === T.RBracket || t === T.RCurly) depth++;
    else if (t === T.LBracket || t === T.LCurly) {
      if (depth === 0) return null;
      depth--;
    } else if (t === T.LParen) {
      if (depth === 0) {
        open = i;
        break;
      }
      depth--;
    } else if (depth === 0 && t === T.Comma) commas++;
    else if (depth === 0 && t === T.Colon && commas === 0 && named === undefined && tokens[i - 1] && isName(tokens[i - 1]!) && isArgStart(tokens[i - 2])) {
      named = tokens[i - 1]!.image;
    }
  }
  if (open < 1 || tokens[open - 1]!.tokenType !== T.Identifier) return null;
  const callee = tokens[open - 1]!.image;
  const before = tokens[open - 2];
  const role = before?.tokenType === T.PipeOp ? "op" : before?.tokenType === T.Sink || (before?.tokenType === T.Equals && isSourceDecl(tokens, open - 2)) ? "connector" : "value";
  const sig = signatureOf(callee, role);
  if (!sig) return null;
  const params = parametersOf(sig.label);
  let active = Math.min(commas, Math.max(0, params.length - 1));
  if (named !== undefined) {
    const i = params.findIndex((p) => parameterName(sig.label, p) === named);
    if (i >= 0) active = i;
  }
  return {
    signatures: [{ label: sig.label, documentation: { kind: "markdown", value: sig.doc }, parameters: params.map((p) => ({ label: p })) }],
    activeSignature: 0,
    activeParameter: Math.max(0, active),
  };
}

const isName = (t: IToken) => T.metaOf(t.tokenType)?.category === "identifier" || T.metaOf(t.tokenType)?.keyword === true;
const isArgStart = (t: IToken | undefined) => t === undefined || t.tokenType === T.LParen || t.tokenType === T.Comma;

function isSourceDecl(tokens: IToken[], equals: number): boolean {
  for (let i = equals - 1; i >= 0; i--) {
    const t = tokens[i]!.tokenType;
    if (t === T.Source) return true;
    if (T.ITEM_KEYWORDS.includes(t)) return false;
  }
  return false;
}
