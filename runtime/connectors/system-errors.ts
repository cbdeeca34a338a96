// Operating-system errors in words a person reads in a connector message ("no such file" rather
// than "ENOENT: no such file or directory, open '/abs/x'", whose path is often not the one written).

const REASONS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ENOSPC: "no space left on device",
  EMFILE: "too many open files",
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the other side",
  EPIPE: "the other side closed the connection",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "cannot resolve the host name",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function reason(e: unknown): string {
  const code = errorCode(e);
  if (code !== undefined && code in REASONS) return REASONS[code]!;
  return e instanceof Error ? e.message : String(e);
}
