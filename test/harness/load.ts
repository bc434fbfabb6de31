// Load for streams: many curl uploads at once, as a test's traffic and as a bench's.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * POSTs `file` to `url` from `count` curl processes at once (each within 60 s, without waiting for
 * 100-continue); each settles to the response body, or to curl's error when it failed.
 */
export function uploadAtOnce(url: string, file: string, count: number): Promise<(string | Error)[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      run("curl", [
        "-fsS",
        "--max-time",
        "60",
        "-X",
        "POST",
        "-H",
        "expect:",
        "--data-binary",
        `@${file}`,
        url,
      ]).then(
        (r) => r.stdout,
        (error: Error) => error,
      ),
    ),
  );
}
