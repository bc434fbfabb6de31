// Reading a request body with a size limit. A body over the limit is drained and dropped before the 413
// goes out, because an HTTP client still uploading may miss a response that comes early. Past 4× the
// limit (declared or sent) the 413 goes out at once; its `Connection: close` ends the upload.
import type { IncomingMessage } from "node:http";
import { HranaHttpError } from "./errors.ts";

function _tooLarge(limit: number): HranaHttpError {
  return new HranaHttpError(
    413,
    "REQUEST_TOO_LARGE",
    `Request body is larger than the limit of ${limit} bytes`,
  );
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > limit * 4) reject(_tooLarge(limit));
    });
    req.on("end", () => (size > limit ? reject(_tooLarge(limit)) : resolve(Buffer.concat(chunks))));
    req.on("error", (err) => {
      reject(new HranaHttpError(400, "REQUEST_ABORTED", `Cannot read request body: ${err.message}`));
    });
    if (Number(req.headers["content-length"] ?? 0) > limit * 4) reject(_tooLarge(limit));
  });
}
