// Fetching an artifact and unpacking it, atomically, into a release directory.
//
// Authenticated as this host: each request is signed with the host key (schema/protocol/artifact-fetch.ts
// says what is signed and how replay is refused), and the control plane serves only artifacts granted
// to this host by a deployment. No fetch token travels in a workload frame or is kept on disk.
//
// Threat model: the bytes come over the network from R2 through the control plane, neither of which is
// trusted with the host's files. So:
//   - the sha256 and size are checked as the bytes stream (node:crypto, native in Bun and Deno, one
//     pass, bounded memory: one chunk at a time through gunzip and the tar decoder onto disk); the
//     unpacked tree is renamed into place only once the whole stream matched;
//   - everything is unpacked into a temporary directory beside destDir (same filesystem), files synced,
//     then renamed to destDir in one step: on any failure (corrupt, aborted, disk full, unsafe member)
//     the temporary directory is removed and nothing exists at destDir;
//   - members are refused unless they are regular files, directories or symlinks; names must be
//     relative with no `..` segment; no member is written beneath a symlink of the archive; symlinks
//     must be relative and, once everything is unpacked, resolve inside the tree; modes are reduced to
//     0644/0755 (no setuid, setgid, sticky or world-writable bits) and owners are never applied.
//
// Tar: modern-tar, a zero-dependency web-streams tar decoder, runs unchanged on Bun and Deno and is
// bundled into dist/agent.js (tar-stream needs node streams; shelling out to `tar` would need the
// member checks above done twice). Gzip: the platform's DecompressionStream.
import { createTarDecoder, type ParsedTarEntry } from "modern-tar";
import { ARTIFACT_FETCH_PATH, SHA256_HEX, signArtifactFetch } from "../../schema/protocol/artifact-fetch.ts";
import type { HostId } from "../../schema/protocol/keys.ts";
import type { Signer } from "../../schema/protocol/sign.ts";

export interface ArtifactFetchContext {
  /** The control plane's base URL, as in state.json. */
  url: string;
  hostId: HostId;
  /** The host key (state.ts's seed), which signs each request. */
  signer: Signer;
  fetch?: typeof fetch;
  /** Aborts the transfer; what was written is removed. */
  signal?: AbortSignal;
}

export interface ArtifactRef {
  /** Lowercase hex. */
  sha256: string;
  size: number;
  /** Where the unpacked tree goes, e.g. `<state>/apps/<app>/releases/<n>`; must not exist yet. */
  destDir: string;
}

/** Where a fetch's time went (for the agent's log and the deploy bench's per-phase rows). */
export interface ArtifactFetchStats {
  /** Signing and the control plane's answer (headers). */
  requestMs: number;
  /** The body from first to last byte, through sha256, gunzip and the tar decoder onto disk. */
  streamMs: number;
  /** Of streamMs, the time spent waiting on file writes, and on fsync. */
  diskMs: number;
  syncMs: number;
  /** Bytes of the unpacked files. */
  unpackedBytes: number;
}

export type ArtifactFetchFailure = "refused" | "corrupt" | "unsafe" | "no_space" | "failed";

/** Why a fetch failed, in one line that says what to do; nothing is left at destDir. */
export class ArtifactFetchError extends Error {
  override name = "ArtifactFetchError";
  readonly reason: ArtifactFetchFailure;

  constructor(reason: ArtifactFetchFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The time of the last request signed by this process (module state: one agent per process). */
let _lastTime = 0;

/** Bytes gathered before a file write (see _writeEntry). */
const WRITE_BYTES = 1024 * 1024;

/** Longest member name accepted (PATH_MAX on Linux). */
const MAX_NAME = 4096;

/**
 * Downloads the artifact, verifies it and unpacks it into destDir, atomically. When destDir already
 * exists it is taken as this artifact unpacked before (only a completed rename creates it), so a
 * redelivered action does nothing.
 */
export async function fetchArtifact(
  ctx: ArtifactFetchContext,
  ref: ArtifactRef,
): Promise<ArtifactFetchStats | undefined> {
  // A connection that breaks (the control plane restarting, a network blip) is tried again, a few
  // times with backoff; a refusal, a corrupt artifact or a full disk is final at once.
  for (let attempt = 0; ; attempt++) {
    try {
      return await _fetchOnce(ctx, ref);
    } catch (error) {
      if (!(error instanceof ArtifactFetchError) || error.reason !== "failed" || attempt >= RETRIES)
        throw error;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

/** Tries after the first when a fetch's connection breaks: 0.5 + 1 + 2 + 4 + 8 s of backoff. */
const RETRIES = 5;

async function _fetchOnce(
  ctx: ArtifactFetchContext,
  ref: ArtifactRef,
): Promise<ArtifactFetchStats | undefined> {
  const fs = await import("node:fs/promises");
  const short = ref.sha256.slice(0, 12);
  if (!SHA256_HEX.test(ref.sha256))
    throw new TypeError(`Cannot fetch artifact: '${ref.sha256}' is not a sha256`);
  if (!Number.isSafeInteger(ref.size) || ref.size < 1)
    throw new RangeError(`Cannot fetch artifact ${short}: size ${ref.size} is not a positive integer`);
  const destDir = ref.destDir.replace(/\/+$/, "");
  if (await _exists(fs, destDir)) return undefined;
  const parent = destDir.slice(0, destDir.lastIndexOf("/")) || "/";
  await fs.mkdir(parent, { recursive: true, mode: 0o755 });
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  const temp = `${destDir}.partial-${random}`;
  try {
    await fs.mkdir(temp, { mode: 0o755 });
    const t0 = performance.now();
    const res = await _request(ctx, ref);
    const t1 = performance.now();
    const written = await _unpackVerified(fs, res.body!, ref, temp);
    await _syncDir(fs, temp);
    await fs.rename(temp, destDir);
    await _syncDir(fs, parent);
    return {
      requestMs: t1 - t0,
      streamMs: performance.now() - t1,
      diskMs: written.diskMs,
      syncMs: written.syncMs,
      unpackedBytes: written.bytes,
    };
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true }).catch(() => {});
    throw _describe(error, short, destDir);
  }
}

async function _request(ctx: ArtifactFetchContext, ref: ArtifactRef): Promise<Response> {
  const short = ref.sha256.slice(0, 12);
  const url = `${ctx.url.replace(/\/+$/, "")}${ARTIFACT_FETCH_PATH}/${ref.sha256}`;
  // Strictly increasing times, so two fetches within one millisecond are not taken for a replay.
  const time = Math.max(Date.now(), _lastTime + 1);
  _lastTime = time;
  const headers = await signArtifactFetch(ctx.signer, { hostId: ctx.hostId, sha256: ref.sha256, time });
  const res = await (ctx.fetch ?? fetch)(url, { headers, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  if (!res.ok) {
    const text = await res.text().catch(() => "");
    let message = `${res.status} ${res.statusText}`;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message ?? message;
    } catch {}
    throw new ArtifactFetchError(
      res.status === 404 || res.status === 401 || res.status === 403 ? "refused" : "failed",
      `the control plane refused artifact ${short}: ${message.slice(0, 300)}`,
    );
  }
  const length = res.headers.get("content-length");
  if (!res.body || (length !== null && Number(length) !== ref.size)) {
    await res.body?.cancel();
    throw new ArtifactFetchError("corrupt", `artifact ${short} is ${length ?? "?"} bytes, not ${ref.size}`);
  }
  return res;
}

type Fs = typeof import("node:fs/promises");

/** Streams body → (sha256, count) → gunzip → tar → files under `root`; throws unless it all matched. */
async function _unpackVerified(
  fs: Fs,
  body: ReadableStream<Uint8Array>,
  ref: ArtifactRef,
  root: string,
): Promise<{ bytes: number; diskMs: number; syncMs: number }> {
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256");
  const short = ref.sha256.slice(0, 12);
  let received = 0;
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      received += chunk.byteLength;
      if (received > ref.size)
        throw new ArtifactFetchError("corrupt", `artifact ${short} is longer than its ${ref.size} bytes`);
      hash.update(chunk);
      controller.enqueue(chunk);
    },
  });
  const piped = body.pipeTo(counted.writable);
  piped.catch(() => {}); // its error surfaces through the readable below, and again when awaited
  const entries = counted.readable
    .pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>)
    .pipeThrough(createTarDecoder({ strict: true }));
  const symlinks: string[] = [];
  const written = { bytes: 0, diskMs: 0, syncMs: 0 };
  const reader = entries.getReader();
  for (;;) {
    let next: ReadableStreamReadResult<ParsedTarEntry>;
    try {
      next = await reader.read();
    } catch (error) {
      // The transfer, gunzip or the tar decoder failed: bytes that are not this artifact.
      if (error instanceof ArtifactFetchError) throw error;
      const why = error instanceof Error ? error.message : String(error);
      throw new ArtifactFetchError("corrupt", `artifact ${short} is not a valid tar.gz (${why})`, {
        cause: error,
      });
    }
    if (next.done) break;
    await _writeEntry(fs, root, next.value, symlinks, written);
  }
  await piped;
  const digest = hash.digest("hex");
  if (received !== ref.size || digest !== ref.sha256)
    throw new ArtifactFetchError(
      "corrupt",
      `artifact ${short} failed its checksum (${received} bytes with sha256 ${digest.slice(0, 12)}, expected ${ref.size} with ${short})`,
    );
  // Every symlink must land inside the tree now that all of it exists (dangling ones too are refused).
  const realRoot = await fs.realpath(root);
  for (const link of symlinks) {
    let target: string;
    try {
      target = await fs.realpath(`${root}/${link}`);
    } catch {
      throw new ArtifactFetchError(
        "unsafe",
        `symlink '${link}' in artifact ${short} points at nothing inside it`,
      );
    }
    if (target !== realRoot && !target.startsWith(`${realRoot}/`))
      throw new ArtifactFetchError("unsafe", `symlink '${link}' in artifact ${short} points outside it`);
  }
  return written;
}

async function _writeEntry(
  fs: Fs,
  root: string,
  entry: ParsedTarEntry,
  symlinks: string[],
  written: { bytes: number; diskMs: number; syncMs: number },
): Promise<void> {
  const header = entry.header;
  const name = _safeName(header.name);
  const type = header.type ?? "file";
  // Nothing goes beneath a symlink of the archive: that is how a tree is written outside itself.
  for (const link of symlinks)
    if (name === link || name.startsWith(`${link}/`))
      throw new ArtifactFetchError(
        "unsafe",
        `member '${name}' is beneath (or replaces) the symlink '${link}'`,
      );
  const path = `${root}/${name}`;
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (type === "directory") {
    await entry.body.cancel();
    await fs.mkdir(path, { recursive: true, mode: 0o755 });
    return;
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  if (type === "symlink") {
    await entry.body.cancel();
    const target = header.linkname ?? "";
    if (target === "" || target.startsWith("/") || target.includes("\0"))
      throw new ArtifactFetchError(
        "unsafe",
        `symlink '${name}' must point at a relative path, not '${target}'`,
      );
    await fs.symlink(target, path);
    symlinks.push(name);
    return;
  }
  if (type !== "file")
    throw new ArtifactFetchError(
      "unsafe",
      `member '${name}' is a ${type}; only files, directories and symlinks unpack`,
    );
  // wx: a second member of the same name is refused rather than silently replacing the first.
  const mode = (header.mode ?? 0o644) & 0o100 ? 0o755 : 0o644;
  let file: Awaited<ReturnType<Fs["open"]>>;
  try {
    file = await fs.open(path, "wx", mode);
  } catch (error) {
    if ((error as { code?: unknown }).code === "EEXIST")
      throw new ArtifactFetchError("unsafe", `member '${name}' appears twice (or replaces a directory)`);
    throw error;
  }
  try {
    // The decoder hands out chunks of a few KiB; one write each cost a trip to the runtime's file
    // thread per chunk (1.4 s of writes for 100 MB, measured by the deploy bench). They are gathered
    // into WRITE_BYTES and written at once.
    const buffer = new Uint8Array(WRITE_BYTES);
    let filled = 0;
    const flush = async () => {
      const t = performance.now();
      for (let at = 0; at < filled; ) at += (await file.write(buffer, at, filled - at)).bytesWritten;
      written.diskMs += performance.now() - t;
      filled = 0;
    };
    for await (const chunk of entry.body as unknown as AsyncIterable<Uint8Array>) {
      written.bytes += chunk.byteLength;
      for (let at = 0; at < chunk.byteLength; ) {
        const n = Math.min(WRITE_BYTES - filled, chunk.byteLength - at);
        buffer.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === WRITE_BYTES) await flush();
      }
    }
    await flush();
    const t = performance.now();
    await file.sync();
    written.syncMs += performance.now() - t;
  } finally {
    await file.close();
  }
  await fs.chmod(path, mode); // exactly, whatever the umask
}

/** A member name as a relative path of plain segments, or ArtifactFetchError "unsafe". */
function _safeName(raw: string): string {
  const unsafe = (why: string) =>
    new ArtifactFetchError("unsafe", `member '${raw.slice(0, 200)}' is refused: ${why}`);
  if (raw.length > MAX_NAME) throw unsafe(`its name is longer than ${MAX_NAME}`);
  if (raw.includes("\0")) throw unsafe("its name holds a NUL");
  if (raw.startsWith("/")) throw unsafe("it is an absolute path");
  const segments = raw.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) throw unsafe("it has a '..' segment");
  if (segments.length === 0) throw unsafe("it names the root itself");
  return segments.join("/");
}

async function _exists(fs: Fs, path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** fsync a directory so renames and new entries in it survive a crash; not every runtime opens one. */
async function _syncDir(fs: Fs, path: string): Promise<void> {
  let dir: Awaited<ReturnType<Fs["open"]>> | undefined;
  try {
    dir = await fs.open(path, "r");
    await dir.sync();
  } catch {
  } finally {
    await dir?.close().catch(() => {});
  }
}

function _describe(error: unknown, short: string, destDir: string): Error {
  if (error instanceof ArtifactFetchError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ENOSPC" || code === "EDQUOT" || /no space left/i.test(message))
    return new ArtifactFetchError(
      "no_space",
      `no space left on the disk of ${destDir} for artifact ${short}; free some space there and deploy again`,
      { cause: error },
    );
  if (error instanceof TypeError && /gzip|decompress|header|checksum|tar/i.test(message))
    return new ArtifactFetchError("corrupt", `artifact ${short} is not a valid tar.gz (${message})`, {
      cause: error,
    });
  return new ArtifactFetchError("failed", `artifact ${short} could not be fetched (${message})`, {
    cause: error,
  });
}
