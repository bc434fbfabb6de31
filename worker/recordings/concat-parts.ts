// The parts of a recording (keys.ts) as one stream, read one part at a time: the finished recording is
// written from it, and a session still running (or one whose object was lost before it finished) is
// played from it. Memory is one part, never the recording.

/** The parts under `prefix` in order, with their total size; undefined when there are none. */
export async function concatParts(
  bucket: R2Bucket,
  prefix: string,
): Promise<{ size: number; keys: string[]; stream: ReadableStream<Uint8Array> } | undefined> {
  const keys: string[] = [];
  let size = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
    for (const o of page.objects) {
      keys.push(o.key);
      size += o.size;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  if (keys.length === 0) return undefined;
  keys.sort();
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const key = keys[i++];
      if (key === undefined) return controller.close();
      const part = await bucket.get(key);
      if (part) controller.enqueue(new Uint8Array(await part.arrayBuffer()));
    },
  });
  return { size, keys, stream };
}
