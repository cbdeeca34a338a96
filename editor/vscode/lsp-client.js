// JSON-RPC 2.0 over the Language Server Protocol's base protocol (`Content-Length` framed messages)
// on a child process's stdin and stdout: requests with promises, notifications, and handlers for
// what the server sends. Knows nothing of VS Code (extension.js does the VS Code side), so it runs
// and is tested under plain Node. Written instead of depending on vscode-languageclient so that the
// extension is plain JavaScript with no dependencies: nothing to install or bundle to package it.
"use strict";

const { spawn } = require("node:child_process");

const HEADER_END = Buffer.from("\r\n\r\n");

const ErrorCodes = { MethodNotFound: -32601, InternalError: -32603, RequestCancelled: -32800 };

class ResponseError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** Splits a byte stream into the JSON messages of the base protocol. */
class MessageReader {
  constructor(onMessage, onError) {
    this.buffer = Buffer.alloc(0);
    this.onMessage = onMessage;
    this.onError = onError;
  }

  push(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf(HEADER_END);
      if (headerEnd < 0) return;
      const headers = this.buffer.subarray(0, headerEnd).toString("ascii");
      const m = /^content-length:\s*(\d+)\s*$/im.exec(headers);
      if (!m) {
        // Not a frame: drop up to the separator so one bad header does not stall the stream.
        this.buffer = this.buffer.subarray(headerEnd + HEADER_END.length);
        this.onError(new Error(`a message without Content-Length: ${JSON.stringify(headers)}`));
        continue;
      }
      const start = headerEnd + HEADER_END.length;
      const end = start + Number(m[1]);
      if (this.buffer.length < end) return;
      const body = this.buffer.subarray(start, end).toString("utf8");
      this.buffer = this.buffer.subarray(end);
      let message;
      try {
        message = JSON.parse(body);
      } catch (e) {
        this.onError(new Error(`a message that is not JSON: ${body.slice(0, 200)}`));
        continue;
      }
      this.onMessage(message);
    }
  }
}

function frame(message) {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, "ascii"), body]);
}

/**
 * A connection to a language server started as a child process.
 * `log(text)` receives the server's stderr and protocol problems.
 */
class LspConnection {
  constructor(command, args, options = {}) {
    this.log = options.log ?? (() => {});
    this.nextId = 1;
    this.pending = new Map();
    this.notificationHandlers = new Map();
    this.requestHandlers = new Map();
    this.closed = false;
    this.exitListeners = [];
    this.process = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      shell: options.shell ?? false,
      windowsHide: true,
    });
    const reader = new MessageReader(
      (m) => this.dispatch(m),
      (e) => this.log(`[protocol] ${e.message}`),
    );
    this.process.stdout.on("data", (chunk) => reader.push(chunk));
    this.process.stderr.on("data", (chunk) => this.log(chunk.toString("utf8").replace(/\n$/, "")));
    this.process.stdin.on("error", (e) => this.log(`[stdin] ${e.message}`));
    this.process.on("error", (e) => this.close(e));
    this.process.on("close", (code, signal) => this.close(new Error(`the server exited (${signal ?? `code ${code}`})`), code, signal));
  }

  /**
   * Resolves with the result, rejects with a ResponseError or when the server goes away.
   * `onCancel(callback)`, when given, registers a callback to call when the caller gives up: the
   * server then gets `$/cancelRequest`.
   */
  request(method, params, onCancel) {
    if (this.closed) return Promise.reject(new Error(`the server is not running (${method})`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.write({ jsonrpc: "2.0", id, method, params });
      if (onCancel) onCancel(() => this.pending.has(id) && this.notify("$/cancelRequest", { id }));
    });
  }

  notify(method, params) {
    if (!this.closed) this.write({ jsonrpc: "2.0", method, params });
  }

  onNotification(method, handler) {
    this.notificationHandlers.set(method, handler);
  }

  /** `handler(params)` returns the result (or a promise of it); throwing answers with an error. */
  onRequest(method, handler) {
    this.requestHandlers.set(method, handler);
  }

  onExit(listener) {
    this.exitListeners.push(listener);
  }

  write(message) {
    this.process.stdin.write(frame(message));
  }

  dispatch(m) {
    if (m.id !== undefined && m.method === undefined) {
      const p = this.pending.get(m.id);
      if (!p) return this.log(`[protocol] a response to an unknown request ${m.id}`);
      this.pending.delete(m.id);
      if (m.error) p.reject(new ResponseError(m.error.code, m.error.message, m.error.data));
      else p.resolve(m.result ?? null);
    } else if (m.id !== undefined) {
      this.answer(m);
    } else if (m.method !== undefined) {
      const handler = this.notificationHandlers.get(m.method);
      if (handler) {
        try {
          handler(m.params);
        } catch (e) {
          this.log(`[client] ${m.method}: ${e && e.stack ? e.stack : e}`);
        }
      }
    }
  }

  async answer(m) {
    const handler = this.requestHandlers.get(m.method);
    if (!handler) {
      this.write({ jsonrpc: "2.0", id: m.id, error: { code: ErrorCodes.MethodNotFound, message: `unhandled method ${m.method}` } });
      return;
    }
    try {
      const result = await handler(m.params);
      this.write({ jsonrpc: "2.0", id: m.id, result: result ?? null });
    } catch (e) {
      this.write({ jsonrpc: "2.0", id: m.id, error: { code: e.code ?? ErrorCodes.InternalError, message: String(e && e.message ? e.message : e) } });
    }
  }

  close(error, code, signal) {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(error ?? new Error("the server is not running"));
    this.pending.clear();
    for (const listener of this.exitListeners) listener({ error, code, signal });
  }

  /** The protocol's shutdown: `shutdown`, then `exit`; kills the process if it lingers. */
  async stop(timeoutMs = 2000) {
    if (this.closed) return;
    const exited = new Promise((resolve) => this.onExit(resolve));
    const timeout = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());
    try {
      await Promise.race([this.request("shutdown"), timeout(timeoutMs)]);
      this.notify("exit");
    } catch {
      // Already gone, or it refused: it is killed below.
    }
    this.process.stdin.end();
    await Promise.race([exited, timeout(timeoutMs)]);
    if (!this.closed) {
      this.process.kill();
      await Promise.race([exited, timeout(timeoutMs)]);
    }
  }
}

module.exports = { LspConnection, MessageReader, ResponseError, ErrorCodes, frame };
