// Splices a local byte stream (a socket, or stdin/stdout) with a TcpStream, with backpressure both ways
// and half close: local end-of-input becomes fin, the host's fin ends local output.
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { MAX_CHUNK_BYTES } from "../../schema/protocol/limits.ts";
import type { TcpStream } from "../streams/tcp.ts";

export async function bridge(input: Readable, output: Writable, stream: TcpStream): Promise<void> {
  const writer = stream.writable.getWriter();
  const upstream = (async () => {
    for (let chunk = await _nextRead(input); chunk !== null; chunk = await _nextRead(input)) {
      chunk = await _gather(input, chunk);
      await writer.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    await writer.close();
  })();
  const downstream = (async () => {
    for await (const chunk of stream.readable as unknown as AsyncIterable<Uint8Array>) {
      if (!output.write(chunk)) await once(output, "drain");
    }
    output.end();
  })();
  try {
    await Promise.all([upstream, downstream, stream.closed]);
  } catch (err) {
    stream.close();
    throw err;
  }
}

/** A read at least this large most likely filled the read buffer: more is already on its way. */
const FULL_READ_BYTES = 32 * 1024;

/**
 * `chunk`, and whatever else arrives within one turn of the event loop, up to a frame (MAX_CHUNK_BYTES),
 * when `chunk` looks like part of a bulk transfer (a full read). Small reads (keystrokes, requests) go
 * at once; bulk ones go in frames of up to 256 KiB instead of 64 KiB, each of which costs the relay
 * about as much as a small one.
 */
async function _gather(input: Readable, chunk: Buffer): Promise<Buffer> {
  const chunks = [chunk];
  let size = chunk.length;
  while (size >= FULL_READ_BYTES && size < MAX_CHUNK_BYTES) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const more = input.read() as Buffer | null;
    if (more === null) break;
    chunks.push(more);
    size += more.length;
  }
  return chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
}

/**
 * Everything `input` has buffered, as one chunk (waiting for some when there is none), or null at its
 * end. Reads as they come when the stream keeps up, so nothing waits; when it falls behind, the 64 KiB
 * socket reads that piled up meanwhile go out together, in fewer and larger frames, each of which costs
 * the relay about as much as a small one. Rejects when the stream fails or is destroyed before its end.
 */
function _nextRead(input: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const settle = (done: () => void) => {
      input.off("readable", attempt);
      input.off("end", onEnd);
      input.off("error", onError);
      input.off("close", onClose);
      done();
    };
    const attempt = (): boolean => {
      const chunk = input.read() as Buffer | null;
      if (chunk !== null) settle(() => resolve(chunk));
      else if (input.readableEnded) settle(() => resolve(null));
      else return false;
      return true;
    };
    const onEnd = () => settle(() => resolve(null));
    const onError = (error: Error) => settle(() => reject(error));
    const onClose = () =>
      settle(() => (input.readableEnded ? resolve(null) : reject(new Error("the connection closed early"))));
    if (attempt()) return;
    input.on("readable", attempt);
    input.once("end", onEnd);
    input.once("error", onError);
    input.once("close", onClose);
  });
}
