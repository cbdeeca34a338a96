// A small pretty-printing document algebra (Wadler's "prettier printer", as Prettier implements
// it): the formatter builds a Doc from the AST, and `printDoc` lays it out within a line width.
// A group is printed flat (its lines as spaces) when it fits on the rest of the line, otherwise
// broken (its lines as newlines). A hard line, and a group made with `broken: true`, break every
// group around them. That is what makes formatting idempotent: a group the first run breaks for
// width is written over several lines, so the next run makes it `broken` (see the formatter), and
// every group around it had broken the first time too.

export type Doc = string | Doc[] | Line | Group | Indent | IfBreak | BreakParent;

interface Line {
  t: "line";
  /** Flat: a space (soft: nothing). */
  soft: boolean;
  hard: boolean;
}

interface Group {
  t: "group";
  doc: Doc;
  /** Set by `broken` or, for groups around a hard line or a broken group, by `propagate`. */
  broken: boolean;
}

interface Indent {
  t: "indent";
  doc: Doc;
}

interface IfBreak {
  t: "ifBreak";
  broken: Doc;
  flat: Doc;
}

/** Prints nothing, but breaks every enclosing group (after a `//` comment). */
interface BreakParent {
  t: "breakParent";
}

/** A space, or a newline when the group breaks. */
export const line: Doc = { t: "line", soft: false, hard: false };
/** Nothing, or a newline when the group breaks. */
export const softline: Doc = { t: "line", soft: true, hard: false };
/** Always a newline; breaks every enclosing group. */
export const hardline: Doc = { t: "line", soft: false, hard: true };

export const breakParent: Doc = { t: "breakParent" };

export const group = (doc: Doc, opts: { broken?: boolean } = {}): Doc => ({ t: "group", doc, broken: opts.broken ?? false });
export const indent = (doc: Doc): Doc => ({ t: "indent", doc });
export const ifBreak = (broken: Doc, flat: Doc = ""): Doc => ({ t: "ifBreak", broken, flat });

export function join(sep: Doc, docs: Doc[]): Doc[] {
  const out: Doc[] = [];
  docs.forEach((d, i) => {
    if (i > 0) out.push(sep);
    out.push(d);
  });
  return out;
}

/** Whether printing the doc always produces a newline (a hard line, or text containing one). */
export function hasHardBreak(doc: Doc): boolean {
  if (typeof doc === "string") return doc.includes("\n");
  if (Array.isArray(doc)) return doc.some(hasHardBreak);
  switch (doc.t) {
    case "line":
      return doc.hard;
    case "group":
    case "indent":
      return hasHardBreak(doc.doc);
    case "ifBreak":
      return hasHardBreak(doc.broken) || hasHardBreak(doc.flat);
    case "breakParent":
      return true;
  }
}

/** Marks every group that contains a hard break or a broken group as broken. */
function propagate(doc: Doc): boolean {
  if (typeof doc === "string") return doc.includes("\n");
  if (Array.isArray(doc)) {
    let any = false;
    for (const d of doc) any = propagate(d) || any;
    return any;
  }
  switch (doc.t) {
    case "line":
      return doc.hard;
    case "group": {
      const inner = propagate(doc.doc);
      if (inner) doc.broken = true;
      return doc.broken;
    }
    case "indent":
      return propagate(doc.doc);
    case "ifBreak":
      return propagate(doc.broken) || propagate(doc.flat);
    case "breakParent":
      return true;
  }
}

type Mode = "flat" | "break";
type Cmd = [indent: number, mode: Mode, doc: Doc];

/** Whether `next` fits in `width` columns, up to the first line break (of `next` or of what follows it). */
function fits(next: Cmd, rest: Cmd[], width: number): boolean {
  const cmds: Cmd[] = [next];
  let restIdx = rest.length;
  while (width >= 0) {
    let cmd = cmds.pop();
    if (!cmd) {
      if (restIdx === 0) return true;
      cmd = rest[--restIdx]!;
    }
    const [ind, mode, doc] = cmd;
    if (typeof doc === "string") {
      const nl = doc.indexOf("\n");
      if (nl >= 0) return width - nl >= 0;
      width -= doc.length;
    } else if (Array.isArray(doc)) {
      for (let i = doc.length - 1; i >= 0; i--) cmds.push([ind, mode, doc[i]!]);
    } else {
      switch (doc.t) {
        case "line":
          if (mode === "break" || doc.hard) return true;
          if (!doc.soft) width -= 1;
          break;
        case "group":
          cmds.push([ind, doc.broken ? "break" : mode, doc.doc]);
          break;
        case "indent":
          cmds.push([ind, mode, doc.doc]);
          break;
        case "ifBreak":
          cmds.push([ind, mode, mode === "break" ? doc.broken : doc.flat]);
          break;
        case "breakParent":
          break;
      }
    }
  }
  return false;
}

/** Lays the doc out in `width` columns, indenting by `tab` spaces per level; no trailing spaces. */
export function printDoc(doc: Doc, width: number, tab = 2): string {
  propagate(doc);
  const out: string[] = [];
  let col = 0;
  const cmds: Cmd[] = [[0, "break", doc]];
  while (cmds.length > 0) {
    const [ind, mode, d] = cmds.pop()!;
    if (typeof d === "string") {
      out.push(d);
      const nl = d.lastIndexOf("\n");
      col = nl >= 0 ? d.length - nl - 1 : col + d.length;
    } else if (Array.isArray(d)) {
      for (let i = d.length - 1; i >= 0; i--) cmds.push([ind, mode, d[i]!]);
    } else {
      switch (d.t) {
        case "line":
          if (mode === "flat" && !d.hard) {
            if (!d.soft) {
              out.push(" ");
              col++;
            }
          } else {
            trimTrailingSpaces(out);
            out.push("\n" + " ".repeat(ind * tab));
            col = ind * tab;
          }
          break;
        case "group": {
          const flat: Cmd = [ind, "flat", d.doc];
          cmds.push(!d.broken && (mode === "flat" || fits(flat, cmds, width - col)) ? flat : [ind, "break", d.doc]);
          break;
        }
        case "indent":
          cmds.push([ind + 1, mode, d.doc]);
          break;
        case "ifBreak":
          cmds.push([ind, mode, mode === "break" ? d.broken : d.flat]);
          break;
        case "breakParent":
          break;
      }
    }
  }
  trimTrailingSpaces(out);
  return out.join("");
}

function trimTrailingSpaces(out: string[]): void {
  while (out.length > 0) {
    const last = out[out.length - 1]!;
    const trimmed = last.replace(/[ \t]+$/, "");
    if (trimmed.length > 0 || last.length === 0) {
      out[out.length - 1] = trimmed;
      if (trimmed.length > 0) return;
    }
    out.pop();
  }
}
