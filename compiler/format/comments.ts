// Where the comments of a file go when it is formatted. Comments are not in the AST's tree (the
// parser keeps them in a list), so the formatter hands them out by position, container by
// container: every list of the tree (items, config entries, test statements, pipe steps,
// arguments, array elements, record fields, record type fields) claims the comments between its
// elements. A comment on the same line as the end of an element stays at the end of that line
// (trailing); any other one goes on its own line before the next element (leading), or before the
// closing bracket (dangling). A comment inside an element that no list inside it claims (one in
// the middle of `a + b`, or between `source` and the name) moves to its own line before that
// element: it is kept, and where it lands it is claimed the same way the next time, so formatting
// twice changes nothing.
import type { Comment, Span } from "../ast.js";

export interface Placed {
  comment: Comment;
  /** A blank line before it in the original (kept in vertical lists). */
  blankBefore: boolean;
}

export interface Slot<R> {
  /** What `print` returned for the element. */
  printed: R;
  leading: Placed[];
  trailing: Comment[];
  blankBefore: boolean;
}

export interface Claimed<R> {
  /** One per element, in order. */
  slots: Slot<R>[];
  /** After the element that comes before the list (a pipe's head), on its line. */
  headTrailing: Comment[];
  /** After the last element, not on its line (or in an empty list). */
  dangling: Placed[];
}

export class CommentPool {
  private readonly taken: boolean[];

  constructor(
    private readonly text: string,
    readonly comments: readonly Comment[],
  ) {
    this.taken = comments.map(() => false);
  }

  /** Comments not yet claimed that lie inside [start, end), in order. */
  take(start: number, end: number): Comment[] {
    const out: Comment[] = [];
    this.comments.forEach((c, i) => {
      if (!this.taken[i] && c.span.start >= start && c.span.end <= end) {
        this.taken[i] = true;
        out.push(c);
      }
    });
    return out;
  }

  /** Whether there is a comment not yet claimed inside [start, end). */
  any(start: number, end: number): boolean {
    return this.comments.some((c, i) => !this.taken[i] && c.span.start >= start && c.span.end <= end);
  }

  /** Comments nobody claimed (formatting a whole program leaves none). */
  rest(): Comment[] {
    return this.comments.filter((_, i) => !this.taken[i]);
  }

  sameLine(from: number, to: number): boolean {
    return !this.text.slice(from, to).includes("\n");
  }

  blankLine(from: number, to: number): boolean {
    let n = 0;
    for (let i = from; i < to; i++) if (this.text.charCodeAt(i) === 10 && ++n >= 2) return true;
    return false;
  }

  /**
   * Claims the comments of one list. `print` is called for each element first, so lists inside the
   * element claim theirs; what is left inside the element moves before it.
   */
  claim<E extends { span: Span }, R>(elements: readonly E[], region: Span, print: (e: E) => R, headEnd?: number): Claimed<R> {
    const slots: Slot<R>[] = [];
    const headTrailing: Comment[] = [];
    let prevEnd = headEnd ?? region.start;
    let trailingOwner: Comment[] | undefined = headEnd === undefined ? undefined : headTrailing;
    let first = true;

    const gap = (from: number, to: number): Placed[] => {
      const leading: Placed[] = [];
      for (const c of this.take(from, to)) {
        if (trailingOwner && this.sameLine(prevEnd, c.span.start)) {
          trailingOwner.push(c);
        } else {
          leading.push({ comment: c, blankBefore: !first && this.blankLine(prevEnd, c.span.start) });
          trailingOwner = undefined;
          first = false;
        }
        prevEnd = c.span.end;
      }
      return leading;
    };

    for (const e of elements) {
      const printed = print(e);
      const leading = gap(prevEnd, e.span.start);
      const blankBefore = !first && this.blankLine(prevEnd, e.span.start);
      for (const c of this.take(e.span.start, e.span.end)) leading.push({ comment: c, blankBefore: false });
      const slot: Slot<R> = { printed, leading, trailing: [], blankBefore };
      slots.push(slot);
      trailingOwner = slot.trailing;
      prevEnd = e.span.end;
      first = false;
    }
    const dangling = gap(prevEnd, region.end);
    return { slots, headTrailing, dangling };
  }
}
