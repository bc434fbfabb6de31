// Splices a local byte stream (a socket, or stdin/stdout) with a TcpStream, with backpressure both ways
// and half close: local end-of-input becomes fin, the host's fin ends local output.
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { TcpStream } from "../streams/tcp.ts";

export async function bridge(input: Readable, output: Writable, stream: TcpStream): Promise<void> {
  const writer = stream.writable.getWriter();
  const upstream = (async () => {
    for await (const chunk of input as AsyncIterable<Buffer>) {
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
