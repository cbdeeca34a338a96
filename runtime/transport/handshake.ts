// The handshake that opens every data-plane connection, before a single msgpack byte is read: a
// mutual challenge–response with HMAC-SHA256 keyed by the job's secret. Plain bytes with fixed
// bounds, read step by step, so a peer that does not know the protocol is refused after a few
// bytes and never reaches the frame decoder.
//
//   client → server  HELLO      "FLW1" | u16 len, job | u16 len, client id | u64 epoch | u32 idle ms | nonce_c (32)
//   server → client  CHALLENGE  0x02 | u16 len, server id | nonce_s (32) | mac_s (32)
//   client → server  PROOF      0x03 | mac_c (32)
//   server → client  ACCEPT     0x04 | u32 initial credits | u32 max frame bytes | u32 idle ms
//
// mac_s = HMAC(secret, "flow/1 server\0" | transcript), mac_c = HMAC(secret, "flow/1 client\0" |
// transcript), where transcript = HELLO | CHALLENGE without its mac. Both nonces are fresh, so a
// recorded handshake cannot be replayed; the labels differ, so one side's proof cannot be
// reflected as the other's. The server proves first: a client with the wrong secret learns that
// before it sends anything of the job's. Each side announces its idle timeout, so the other pings
// often enough.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const MAGIC = Buffer.from("FLW1", "latin1");
const CHALLENGE = 0x02;
const PROOF = 0x03;
const ACCEPT = 0x04;
const NONCE_BYTES = 32;
const MAC_BYTES = 32;
export const MAX_JOB_NAME_BYTES = 512;
export const MAX_WORKER_ID_BYTES = 256;
/** The most bytes a well-behaved peer sends before the handshake completes (HELLO + PROOF). */
export const MAX_HANDSHAKE_BYTES = MAGIC.length + 2 + MAX_JOB_NAME_BYTES + 2 + MAX_WORKER_ID_BYTES + 8 + 4 + NONCE_BYTES + 1 + MAC_BYTES;

export class HandshakeError extends Error {}

/** What a handshake reads and writes through: the connection's bytes before framing starts. */
export interface HandshakeIO {
  /** Resolves with exactly `n` bytes; rejects when the connection closes or times out first. */
  read(n: number): Promise<Buffer>;
  write(bytes: Buffer): void;
}

export interface ServerHandshake {
  serverId: string;
  idleTimeoutMs: number;
  /** The job's secret; undefined for a job this worker does not know. */
  secretFor(job: string): Promise<string | undefined>;
  initialCredits: number;
  maxFrameBytes: number;
}

export interface ClientHandshake {
  clientId: string;
  idleTimeoutMs: number;
  /** The worker the client means to reach: a different id at that address is refused. */
  serverId: string;
  job: string;
  epoch: number;
  secret: string;
}

/** The server side; resolves with what the connection carries once the client has proven the secret. */
export async function acceptHandshake(io: HandshakeIO, s: ServerHandshake): Promise<{ job: string; epoch: number; clientId: string; peerIdleTimeoutMs: number }> {
  const magic = await io.read(MAGIC.length);
  if (!magic.equals(MAGIC)) throw new HandshakeError("not a Flow data-plane client (bad magic bytes)");
  const jobLen = await io.read(2);
  const [job, jobBytes] = await readName(io, jobLen, MAX_JOB_NAME_BYTES, "job name");
  const idLen = await io.read(2);
  const [clientId, idBytes] = await readName(io, idLen, MAX_WORKER_ID_BYTES, "worker id");
  const epochBytes = await io.read(8);
  const epoch = Number(epochBytes.readBigUInt64BE(0));
  if (!Number.isSafeInteger(epoch)) throw new HandshakeError("epoch out of range");
  const idle = await io.read(4);
  const peerIdleTimeoutMs = idle.readUInt32BE(0);
  if (peerIdleTimeoutMs === 0) throw new HandshakeError("an idle timeout of 0 ms");
  const nonceC = await io.read(NONCE_BYTES);
  const hello = Buffer.concat([magic, jobLen, jobBytes, idLen, idBytes, epochBytes, idle, nonceC]);

  const secret = await s.secretFor(job);
  if (secret === undefined) throw new HandshakeError(`unknown job ${JSON.stringify(job)}`);
  const challenge = Buffer.concat([Buffer.of(CHALLENGE), name(s.serverId, MAX_WORKER_ID_BYTES), randomBytes(NONCE_BYTES)]);
  const transcript = Buffer.concat([hello, challenge]);
  io.write(Buffer.concat([challenge, mac(secret, "server", transcript)]));

  const proof = await io.read(1 + MAC_BYTES);
  if (proof[0] !== PROOF) throw new HandshakeError("expected the client's proof");
  if (!timingSafeEqual(proof.subarray(1), mac(secret, "client", transcript))) {
    throw new HandshakeError(`the client failed authentication for job ${JSON.stringify(job)} (wrong secret)`);
  }
  const accept = Buffer.alloc(13);
  accept[0] = ACCEPT;
  accept.writeUInt32BE(s.initialCredits, 1);
  accept.writeUInt32BE(s.maxFrameBytes, 5);
  accept.writeUInt32BE(s.idleTimeoutMs, 9);
  io.write(accept);
  return { job, epoch, clientId, peerIdleTimeoutMs };
}

/** The client side; resolves once the server has proven the secret and accepted the client's proof. */
export async function openHandshake(io: HandshakeIO, c: ClientHandshake): Promise<{ credits: number; maxFrameBytes: number; peerIdleTimeoutMs: number }> {
  const epoch = Buffer.alloc(8);
  epoch.writeBigUInt64BE(BigInt(c.epoch));
  const idle = Buffer.alloc(4);
  idle.writeUInt32BE(c.idleTimeoutMs);
  const hello = Buffer.concat([MAGIC, name(c.job, MAX_JOB_NAME_BYTES), name(c.clientId, MAX_WORKER_ID_BYTES), epoch, idle, randomBytes(NONCE_BYTES)]);
  io.write(hello);

  const tag = await io.read(1);
  if (tag[0] !== CHALLENGE) throw new HandshakeError("not a Flow data-plane server (unexpected reply)");
  const idLen = await io.read(2);
  const [serverId, idBytes] = await readName(io, idLen, MAX_WORKER_ID_BYTES, "worker id");
  const nonceS = await io.read(NONCE_BYTES);
  const macS = await io.read(MAC_BYTES);
  const transcript = Buffer.concat([hello, tag, idLen, idBytes, nonceS]);
  if (!timingSafeEqual(macS, mac(c.secret, "server", transcript))) {
    throw new HandshakeError(`the server failed authentication for job ${JSON.stringify(c.job)} (wrong secret)`);
  }
  if (serverId !== c.serverId) throw new HandshakeError(`reached worker ${JSON.stringify(serverId)} instead of ${JSON.stringify(c.serverId)}`);
  io.write(Buffer.concat([Buffer.of(PROOF), mac(c.secret, "client", transcript)]));

  const accept = await io.read(13);
  if (accept[0] !== ACCEPT) throw new HandshakeError("expected the server's acceptance");
  const credits = accept.readUInt32BE(1);
  const maxFrameBytes = accept.readUInt32BE(5);
  const peerIdleTimeoutMs = accept.readUInt32BE(9);
  if (credits === 0 || maxFrameBytes === 0 || peerIdleTimeoutMs === 0) throw new HandshakeError("the server's acceptance holds a zero");
  return { credits, maxFrameBytes, peerIdleTimeoutMs };
}

function mac(secret: string, side: "server" | "client", transcript: Buffer): Buffer {
  return createHmac("sha256", secret).update(`flow/1 ${side}\0`).update(transcript).digest();
}

/** A u16 length and the UTF-8 bytes of a name. */
function name(s: string, max: number): Buffer {
  const bytes = Buffer.from(s, "utf8");
  if (bytes.length === 0 || bytes.length > max) throw new HandshakeError(`name ${JSON.stringify(s)} must be 1 to ${max} UTF-8 bytes`);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The name, and its bytes as sent (they enter the transcript unchanged). */
async function readName(io: HandshakeIO, len: Buffer, max: number, what: string): Promise<[string, Buffer]> {
  const n = len.readUInt16BE(0);
  if (n === 0 || n > max) throw new HandshakeError(`${what} of ${n} bytes (1 to ${max} allowed)`);
  const bytes = await io.read(n);
  try {
    return [utf8.decode(bytes), bytes];
  } catch {
    throw new HandshakeError(`${what} is not UTF-8`);
  }
}
