// A ZooKeeper session that survives what node-zookeeper-client does not handle by itself (see
// ARCHITECTURE.md): every call has a timeout (calls made while disconnected, or after expiry, never
// return otherwise); `retries: 0` (blind re-sends duplicate creates and sequential nodes); a
// watchdog pings the server and reports `suspended` after 2/3 of the negotiated session timeout
// without an answer and treats the session as lost after the full timeout; expiry is latched and
// answered with a brand-new client. Owners listen for `session` (a new session began: re-create
// ephemeral nodes, re-arm watches, re-read state) and `suspended` (stop side effects).
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import zookeeper from "node-zookeeper-client";

// node-zookeeper-client throws from its socket's data handler when a reply carries an error code
// it does not know (seen here around forced session expiry: "Unknown code: -1275789308"). Thrown
// there, it is an uncaught exception that would kill the worker. Treat it as a broken connection
// instead: drop the socket, which makes the client reconnect (and learn about expiry properly).
{
  const ConnectionManager = createRequire(import.meta.url)("node-zookeeper-client/lib/ConnectionManager.js") as {
    prototype: { onSocketData(this: { socket?: { destroy(): void } }, b: Buffer): void; __flowGuarded?: boolean };
  };
  const proto = ConnectionManager.prototype;
  if (!proto.__flowGuarded) {
    const original = proto.onSocketData;
    proto.onSocketData = function (buffer) {
      try {
        original.call(this, buffer);
      } catch {
        this.socket?.destroy();
      }
    };
    proto.__flowGuarded = true;
  }
}

export interface ZkOptions {
  /** host:port[,host:port…][/chroot] */
  connect: string;
  /** `user:password` of the project's digest ACL: every znode created is readable and writable only with it. */
  auth: string;
  sessionTimeoutMs?: number;
}

export class ZkError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "ZkError";
  }
}

/** The exception name of a node-zookeeper-client error (NO_NODE, NODE_EXISTS, BAD_VERSION, ...), or TIMEOUT. */
export function codeOf(e: unknown): string {
  if (e instanceof ZkError) return e.code;
  const name = (e as { getName?: () => string }).getName?.();
  return name ?? "UNKNOWN";
}

/**
 * Closes a client for good. `close()` queues "close session" and the client ends when the server
 * answers it; but a client that was reconnecting when it was closed (ZooKeeper restarted) was seen
 * holding an open socket, unanswered, for as long as the process lived: short commands such as
 * `submit --wait` then never exited. Whatever socket it still has after a second is destroyed
 * (checked a few times: a reconnect it had scheduled may open one late).
 */
function closeClient(c: zookeeper.Client): void {
  c.close();
  let checks = 0;
  const t = setInterval(() => {
    const socket = (c as unknown as { connectionManager?: { socket?: { destroyed: boolean; destroy(): void } } }).connectionManager?.socket;
    if (socket && !socket.destroyed) socket.destroy();
    if (++checks >= 5) clearInterval(t);
  }, 1000);
  t.unref();
}

export class ZkSession extends EventEmitter {
  private client: zookeeper.Client | null = null;
  private timeoutMs: number;
  private watchdog: NodeJS.Timeout | null = null;
  private lastAnswer = Date.now();
  private lastCheck = Date.now();
  private checkEveryMs = 1000;
  private closed = false;
  private generation = 0;
  /** Gives up the connection attempt in progress (its client and its timer), if any. */
  private abandonConnect: (() => void) | null = null;
  suspended = false;
  readonly acl: zookeeper.ACL[];

  constructor(private readonly opts: ZkOptions) {
    super();
    this.timeoutMs = opts.sessionTimeoutMs ?? 6000;
    const [user] = opts.auth.split(":");
    const digest = createHash("sha1").update(opts.auth).digest("base64");
    this.acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id("digest", `${user}:${digest}`))];
  }

  /** The negotiated session timeout (ms), valid once connected. */
  get sessionTimeoutMs(): number {
    return this.timeoutMs;
  }

  get sessionId(): string {
    return this.client?.getSessionId().toString("hex") ?? "";
  }

  /** Connects (a new session); rejects after `waitMs` without a connection. */
  async start(waitMs = 15_000): Promise<void> {
    await this.connectNew(waitMs);
    this.checkEveryMs = Math.max(100, Math.floor(this.timeoutMs / 6));
    this.lastCheck = Date.now();
    this.watchdog = setInterval(() => this.check(), this.checkEveryMs);
    this.watchdog.unref();
  }

  close(): void {
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.client) closeClient(this.client);
    this.client = null;
    // A client still connecting (a session being replaced) is closed too: left alone, it would
    // keep retrying, and its timer would keep the process alive after the command is done.
    this.abandonConnect?.();
  }

  private connectNew(waitMs: number): Promise<void> {
    const gen = ++this.generation;
    this.abandonConnect?.();
    if (this.client) closeClient(this.client);
    // Calls fail fast (no session) until the new client is connected and authenticated: requests
    // queued before the credentials would be answered NO_AUTH.
    this.client = null;
    const c = zookeeper.createClient(this.opts.connect, { sessionTimeout: this.opts.sessionTimeoutMs ?? 6000, retries: 0, spinDelay: 200 });
    // Before connect(): the client sends the credentials first on every (re)connection.
    c.addAuthInfo("digest", Buffer.from(this.opts.auth));
    c.on("state", (s: zookeeper.State) => {
      if (gen !== this.generation) return;
      if (s === zookeeper.State.EXPIRED) this.renew("expired");
      if (s === zookeeper.State.SYNC_CONNECTED) this.lastAnswer = Date.now();
    });
    return new Promise((resolve, reject) => {
      const giveUp = (e: ZkError) => {
        clearTimeout(t);
        if (this.abandonConnect === abandon) this.abandonConnect = null;
        closeClient(c);
        reject(e);
      };
      const abandon = () => giveUp(new ZkError("superseded", "CONNECTION_LOSS"));
      this.abandonConnect = abandon;
      const t = setTimeout(() => giveUp(new ZkError(`cannot reach ZooKeeper at ${this.opts.connect} within ${Math.round(waitMs / 1000)} s`, "UNREACHABLE")), waitMs);
      c.once("connected", () => {
        if (gen !== this.generation || this.closed) return giveUp(new ZkError("superseded", "CONNECTION_LOSS"));
        clearTimeout(t);
        if (this.abandonConnect === abandon) this.abandonConnect = null;
        this.client = c;
        this.timeoutMs = c.getSessionTimeout();
        this.lastAnswer = Date.now();
        this.suspended = false;
        resolve();
      });
      c.connect();
    });
  }

  /** Drops the current client and starts a new session; owners re-register on `session`. */
  private renew(why: string): void {
    if (this.closed) return;
    this.emit("lost", why);
    const attempt = this.connectNew(this.timeoutMs * 4);
    const gen = this.generation;
    attempt.then(
      () => this.emit("session", this.sessionId),
      // Retried only if no newer attempt replaced this one (a retry would drop that one's client).
      () => gen === this.generation && setTimeout(() => this.renew("reconnect failed"), 1000).unref(),
    );
  }

  private check(): void {
    const now = Date.now();
    const stalled = now - this.lastCheck - this.checkEveryMs;
    this.lastCheck = now;
    // This process did not run for a while (a long synchronous step, or no CPU for it): answers
    // could not be read meanwhile, so that time is not the server's silence.
    if (stalled > this.checkEveryMs) this.lastAnswer += stalled;
    if (this.closed || !this.client) return;
    const silent = now - this.lastAnswer;
    if (silent > this.timeoutMs) {
      this.renew("no answer within the session timeout");
      return;
    }
    if (silent > (this.timeoutMs * 2) / 3 && !this.suspended) {
      this.suspended = true;
      this.emit("suspended");
    }
    const c = this.client;
    c.exists("/", (e) => {
      if (c !== this.client || e) return;
      this.lastAnswer = Date.now();
      if (this.suspended) {
        this.suspended = false;
        this.emit("resumed");
      }
    });
  }

  /** Runs one client call with a timeout of the session timeout. */
  call<T>(what: string, f: (c: zookeeper.Client, done: (e: unknown, v?: T) => void) => void): Promise<T> {
    const c = this.client;
    if (!c) return Promise.reject(new ZkError(`${what}: no ZooKeeper session`, "CONNECTION_LOSS"));
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new ZkError(`${what}: ZooKeeper did not answer within ${this.timeoutMs} ms`, "TIMEOUT")), this.timeoutMs);
      f(c, (e, v) => {
        clearTimeout(t);
        if (e) reject(e);
        else {
          this.lastAnswer = Date.now();
          resolve(v as T);
        }
      });
    });
  }

  /** The session-owned generation, so watches registered on an old client can be told apart. */
  get currentGeneration(): number {
    return this.generation;
  }

  // ---------------------------------------------------------------- small helpers

  async mkdirp(path: string): Promise<void> {
    await this.call<string>(`mkdirp ${path}`, (c, done) => c.mkdirp(path, this.acl, zookeeper.CreateMode.PERSISTENT, done));
  }

  async getJson<T>(path: string, watcher?: () => void): Promise<{ value: T; version: number } | undefined> {
    try {
      const [data, stat] = await this.call<[Buffer, zookeeper.Stat]>(`read ${path}`, (c, done) => {
        const cb = (e: unknown, d: Buffer, s: zookeeper.Stat) => done(e, [d, s]);
        if (watcher) c.getData(path, () => watcher(), cb);
        else c.getData(path, cb);
      });
      return { value: JSON.parse(data.toString()) as T, version: stat.version };
    } catch (e) {
      if (codeOf(e) === "NO_NODE") {
        if (watcher) await this.call<unknown>(`watch ${path}`, (c, done) => c.exists(path, () => watcher(), done));
        return undefined;
      }
      throw e;
    }
  }

  async children(path: string, watcher?: () => void): Promise<string[]> {
    try {
      return await this.call<string[]>(`list ${path}`, (c, done) => {
        const cb = (e: unknown, ch: string[]) => done(e, ch);
        if (watcher) c.getChildren(path, () => watcher(), cb);
        else c.getChildren(path, cb);
      });
    } catch (e) {
      if (codeOf(e) === "NO_NODE") return [];
      throw e;
    }
  }

  async create(path: string, value: unknown, mode: number): Promise<string> {
    return this.call<string>(`create ${path}`, (c, done) => c.create(path, Buffer.from(JSON.stringify(value)), this.acl, mode, done));
  }

  async stat(path: string): Promise<zookeeper.Stat | undefined> {
    return this.call<zookeeper.Stat | undefined>(`stat ${path}`, (c, done) => c.exists(path, (e, s) => done(e, s ?? undefined)));
  }

  async remove(path: string, version = -1): Promise<void> {
    try {
      await this.call<void>(`remove ${path}`, (c, done) => c.remove(path, version, done));
    } catch (e) {
      if (codeOf(e) !== "NO_NODE") throw e;
    }
  }

  /** Runs a multi-op transaction; resolves false when a version check failed (a stale writer). */
  async transaction(what: string, build: (t: zookeeper.Transaction) => void): Promise<boolean> {
    try {
      await this.call<unknown>(what, (c, done) => {
        const t = c.transaction();
        build(t);
        t.commit((e, r) => done(e, r));
      });
      return true;
    } catch (e) {
      const code = codeOf(e);
      if (code === "BAD_VERSION" || code === "NODE_EXISTS" || code === "NO_NODE") return false;
      throw e;
    }
  }
}
