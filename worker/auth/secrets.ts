// Hashing and comparison of bearer secrets. Secrets are high-entropy random strings, so SHA-256 is
// the right hash (a password KDF only slows down guessing of low-entropy input).

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings in time that depends only on their lengths, never on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % Math.max(y.length, 1)] ?? 0);
  return diff === 0;
}

/** Compares a presented secret with a stored SHA-256 hex digest. */
export async function secretMatches(secret: string, storedHash: string): Promise<boolean> {
  return constantTimeEqual(await sha256Hex(secret), storedHash);
}
