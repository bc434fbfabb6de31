// Uploading an artifact: once, in parts, resumable. The server says which parts it has (an upload of
// the same sha256 already in progress is resumed: only the missing parts are sent) or that it has the
// whole artifact already (nothing is sent). Each part is read from the packed file as it is sent, so
// memory stays bounded (PARALLEL parts in flight, 1 MiB chunks each) whatever the artifact's size.
import { open } from "node:fs/promises";
import { unwrap } from "../client.ts";
import { OutpostConnectionError } from "../errors.ts";
import type { Outpost } from "../outpost.ts";
import { packArtifact } from "./pack.ts";

export interface UploadOptions {
  /** Called as bytes go out: `sent` counts parts the server had already as sent. */
  onProgress?(sent: number, total: number): void;
  /** The ignore file's name inside a directory source (default `.outpostignore`). */
  ignoreFile?: string;
  /** Remembers the sha256 of .tar.gz files hashed before (pack.ts's hashCache). */
  hashCache?: string;
  /** Called once the artifact is packed and hashed, before anything is sent. */
  onHashed?(sha256: string, size: number): void;
  /** Stops the upload; what was sent stays on the server for the next attempt to resume. */
  signal?: AbortSignal;
}

export interface UploadResult {
  sha256: string;
  size: number;
  /** Whether the control plane had the whole artifact already (nothing was sent). */
  existed: boolean;
  /** Parts sent by this call, and the bytes in them. */
  partsSent: number;
  bytesSent: number;
}

/** Parts sent at once: enough to fill a link, few enough to bound memory. */
const PARALLEL = 3;
const CHUNK = 1024 * 1024;

/** Packs `source` (a directory, honouring `.outpostignore`; or a .tar.gz as it is) and uploads it. */
export async function uploadArtifact(
  client: Outpost,
  source: string,
  opts: UploadOptions = {},
): Promise<UploadResult> {
  const packed = await packArtifact(source, {
    ...(opts.ignoreFile ? { ignoreFile: opts.ignoreFile } : {}),
    ...(opts.hashCache ? { hashCache: opts.hashCache } : {}),
  });
  opts.onHashed?.(packed.sha256, packed.size);
  try {
    return await uploadFile(client, packed, opts);
  } finally {
    await packed.cleanup();
  }
}

/** Uploads a tar.gz whose sha256 and size are known. */
async function uploadFile(
  client: Outpost,
  file: { path: string; sha256: string; size: number },
  opts: UploadOptions,
): Promise<UploadResult> {
  const api = client.api.v1.artifacts;
  const started = await unwrap(client.url, api.$post({ json: { sha256: file.sha256, size: file.size } }));
  const result = {
    sha256: file.sha256,
    size: file.size,
    existed: started.exists,
    partsSent: 0,
    bytesSent: 0,
  };
  if (started.exists) {
    opts.onProgress?.(file.size, file.size);
    return result;
  }
  const upload = started.upload;
  const length = (n: number) => Math.min(upload.partSize, file.size - (n - 1) * upload.partSize);
  const received = new Set(upload.received);
  let sent = upload.received.reduce((total, n) => total + length(n), 0);
  opts.onProgress?.(sent, file.size);
  const todo = Array.from({ length: upload.parts }, (_, i) => i + 1).filter((n) => !received.has(n));
  const handle = await open(file.path, "r");
  try {
    const next = async (): Promise<void> => {
      for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
        opts.signal?.throwIfAborted();
        const start = (n - 1) * upload.partSize;
        const size = length(n);
        let offset = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (offset >= size) return controller.close();
            const chunk = new Uint8Array(Math.min(CHUNK, size - offset));
            const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, start + offset);
            if (bytesRead === 0)
              return controller.error(new Error(`${file.path} changed while it was uploaded`));
            offset += bytesRead;
            controller.enqueue(chunk.subarray(0, bytesRead));
            sent += bytesRead;
            opts.onProgress?.(sent, file.size);
          },
        });
        await unwrap(
          client.url,
          api.uploads[":id"].parts[":n"].$put(
            { param: { id: upload.id, n: String(n) }, header: { "content-length": String(size) } },
            // biome-ignore lint/suspicious/noExplicitAny: RequestInit's `duplex` (needed for a stream body) is missing from the DOM types
            { init: { body, duplex: "half", ...(opts.signal ? { signal: opts.signal } : {}) } as any },
          ),
        );
        result.partsSent += 1;
        result.bytesSent += size;
      }
    };
    // Settled, not all: the file stays open until every part in flight has stopped.
    const done = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL, todo.length) }, next));
    const failed = done.find((d) => d.status === "rejected");
    if (failed) throw failed.reason;
  } finally {
    await handle.close();
  }
  opts.signal?.throwIfAborted();
  try {
    await unwrap(client.url, api.uploads[":id"].complete.$post({ param: { id: upload.id } }));
  } catch (error) {
    // The answer to a completion can be lost (a dropped connection) after the server stored it: ask
    // until it is stored, or until the upload is gone (refused).
    if (!(error instanceof OutpostConnectionError)) throw error;
    await _awaitVerified(client, file, upload.id, error);
  }
  return result;
}

/** How long to keep asking whether a completed upload was stored (bounded: 30 min at 2 s). */
const VERIFY_POLLS = 900;
const VERIFY_POLL_MS = 2000;

async function _awaitVerified(
  client: Outpost,
  file: { sha256: string; size: number },
  uploadId: string,
  cause: OutpostConnectionError,
): Promise<void> {
  for (let i = 0; i < VERIFY_POLLS; i++) {
    await new Promise((r) => setTimeout(r, VERIFY_POLL_MS));
    const res = await client.api.v1.artifacts.uploads[":id"]
      .$get({ param: { id: uploadId } })
      .catch(() => undefined);
    if (res?.status !== 404) continue; // not completed yet (or the server is unreachable for now)
    const view = await client.api.v1.artifacts[":sha256"].$get({ param: { sha256: file.sha256 } });
    if (view.ok) return;
    throw new Error(
      `the control plane did not store artifact ${file.sha256.slice(0, 12)}: its upload was refused`,
      { cause },
    );
  }
  throw cause;
}
