// A deadline for a promise that cannot be cancelled (a DNS lookup, a connect): the caller stops waiting
// and gets `timeout()`'s error; what the promise yields later is handed to `late` to clean up.

/** `promise`'s outcome, or a rejection with `timeout()` after `ms`. */
export async function _within<T>(
  promise: Promise<T>,
  ms: number,
  timeout: () => Error,
  late?: (value: T) => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(timeout());
    }, ms);
  });
  promise.then(
    (value) => {
      if (timedOut) late?.(value);
    },
    () => {},
  );
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
