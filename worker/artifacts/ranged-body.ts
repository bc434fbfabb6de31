// An R2 object served as a sequence of ranged reads, so that memory stays bounded whatever its size.
//
// Why: measured in Miniflare (scripts/bench/deploy-bench.ts), one `get` of a whole 512 MiB object
// held all of it in workerd before its first byte reached the agent (RSS +711 MiB, the first byte
// after 3.5 s): the local R2 answers a read in full. Reading a few MiB at a time (rangeBytesFor), with the next
// range asked for while the current one streams out, bounds what any hop holds to about two ranges
// and gets the first byte out at once. On Cloudflare's R2 a get streams already; the ranges then cost
// one more subrequest per range (at most MAX_RANGES, well under the 1,000 subrequests a request may
// make on a paid plan).
//
// The bytes move by pipeTo from each range's native body into one FixedLengthStream: no JS loop per
// chunk (a JS pump ran at about 5 MB/s under load, see README "Deploy rows"), and the response carries
// the object's exact length, so a cut-short transfer is an error at the agent, never a short file.

/**
 * The size of each ranged read: small, for memory (the local R2 holds a whole range, and one more is
 * read ahead: 16 MiB ranges cost workerd +115 MiB on a 512 MiB fetch, 4 MiB ranges +76 MiB, where the
 * upload's parts are then the peak), but never so small that an object needs more than MAX_RANGES
 * reads: each is a subrequest, and a request may make 1,000 on a paid plan.
 */
const MIN_RANGE_BYTES = 4 * 1024 * 1024;
const MAX_RANGES = 200;

/** The range size for an object of `size` bytes: MIN_RANGE_BYTES, or larger to stay within MAX_RANGES. */
function rangeBytesFor(size: number): number {
  return Math.max(MIN_RANGE_BYTES, Math.ceil(size / MAX_RANGES));
}

export interface RangedSource {
  get(key: string, options: { range: { offset: number; length: number } }): Promise<R2ObjectBody | null>;
}

/**
 * The object's bytes as one stream of exactly `size` bytes, read rangeBytesFor(size) at a time. `waitUntil`
 * keeps the pump alive after the response is returned.
 */
export function rangedBody(
  bucket: RangedSource,
  key: string,
  size: number,
  waitUntil: (p: Promise<unknown>) => void,
  rangeBytes = rangeBytesFor(size),
): ReadableStream<Uint8Array> {
  const { readable, writable } = new FixedLengthStream(size);
  const read = (offset: number) =>
    bucket.get(key, { range: { offset, length: Math.min(rangeBytes, size - offset) } }).then((part) => {
      if (!part) throw new Error(`${key} vanished from the bucket at byte ${offset} of ${size}`);
      return part;
    });
  const pump = async () => {
    let next: Promise<R2ObjectBody> | undefined = read(0);
    for (let offset = 0; next; ) {
      const part: R2ObjectBody = await next;
      offset += Math.min(rangeBytes, size - offset);
      // One range ahead: asked for now, read while this one streams out.
      next = offset < size ? read(offset) : undefined;
      next?.catch(() => {}); // surfaces when awaited
      await part.body.pipeTo(writable, { preventClose: true });
    }
    await writable.close();
  };
  waitUntil(
    pump().catch(async (error) => {
      await writable.abort(error).catch(() => {});
    }),
  );
  return readable;
}
