// JSON.stringify's text of a number, written as bytes: what a snapshot's entries (operators/
// operator.ts, EntryText) and a jsonl sink's lines (connectors/text-sink.ts) are made of.

/**
 * Writes JSON.stringify(x)'s text for the number `x` into `b` at `o` (at most 32 bytes) and returns
 * where it ended: a safe integer digit by digit, from the last, in 32-bit arithmetic where it fits
 * (no string made); any other number through its string, which is ASCII ("null" for NaN and the
 * infinities). Self-contained: a sink compiles a copy of its own from its source
 * (JSON_NUMBER_BYTES).
 */
export function jsonNumberBytes(b: Uint8Array, o: number, x: number): number {
  if (Number.isSafeInteger(x)) {
    let y = x;
    if (y < 0) {
      b[o++] = 45; // -
      y = -y;
    }
    let n = 1;
    if (y <= 0x7fffffff) {
      for (let z = y; z >= 10; z = (z / 10) | 0) n++;
      for (let p = o + n - 1; p >= o; p--) {
        const q = (y / 10) | 0;
        b[p] = 48 + y - q * 10;
        y = q;
      }
    } else {
      for (let z = y; z >= 10; z = Math.floor(z / 10)) n++;
      for (let p = o + n - 1; p >= o; p--) {
        const q = Math.floor(y / 10);
        b[p] = 48 + (y - q * 10);
        y = q;
      }
    }
    return o + n;
  }
  const s = Number.isFinite(x) ? `${x}` : "null";
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
  return o + s.length;
}

/** The source of jsonNumberBytes, as `function jsonNumberBytes(b, o, x) {…}` (for new Function). */
export const JSON_NUMBER_BYTES = jsonNumberBytes.toString();
