// Splits a byte stream, chunk by chunk, into numbered UTF-8 text lines: the one place that knows
// about chunk boundaries, used by every line-based source (file, stdin, socket).
//
// A line may end with \n or \r\n; a last line without a newline still counts; a UTF-8 byte-order
// mark at the very start is dropped. A character whose bytes are split across two chunks is
// decoded whole (StringDecoder holds the incomplete bytes back until the next chunk).
import { StringDecoder } from "node:string_decoder";

export interface Line {
  /** 1-based. */
  number: number;
  text: string;
  /** Byte offset just past the line's newline in the whole input (a checkpoint resumes there). */
  end: number;
}

export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  /** Text after the last newline seen: the start of a line whose end has not arrived yet. */
  private partial = "";
  private lineNumber = 0;
  private started = false;
  /** Bytes of the input up to the end of the last complete line. */
  private offset = 0;

  /** Resuming in the middle of an input: the byte offset and number of the last line already read. */
  constructor(from?: { offset: number; line: number }) {
    if (from && (from.offset > 0 || from.line > 0)) {
      this.offset = from.offset;
      this.lineNumber = from.line;
      this.started = true;
    }
  }

  /** Complete lines in the chunk (with what was left from earlier chunks). */
  push(chunk: Buffer | string, out: Line[]): void {
    let text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
        this.offset += 3;
      }
    }
    let from = 0;
    for (;;) {
      const nl = text.indexOf("\n", from);
      if (nl < 0) break;
      let line = text.slice(from, nl);
      if (from === 0 && this.partial !== "") {
        line = this.partial + line;
        this.partial = "";
      }
      this.offset += Buffer.byteLength(line) + 1;
      out.push({ number: ++this.lineNumber, text: stripCR(line), end: this.offset });
      from = nl + 1;
    }
    if (from < text.length) this.partial = from === 0 ? this.partial + text : text.slice(from);
  }

  /** The last line, if the input did not end with a newline. */
  end(out: Line[]): void {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    if (rest === "") return;
    this.offset += Buffer.byteLength(rest);
    out.push({ number: ++this.lineNumber, text: stripCR(rest), end: this.offset });
  }
}

function stripCR(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}
