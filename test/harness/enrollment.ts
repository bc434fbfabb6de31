// A signed enrollment request (schema/protocol/enroll.ts) made the way the agent makes one, with a fresh key,
// for tests that post to /v1/enroll directly; `tweak` makes the ones the agent never would. Labels
// are not signed (enrollmentMessage): the token decides what they may be.
import { enrollmentMessage } from "../../schema/protocol/enroll.ts";
import { formatHostKey, generateKeyPair, Signer } from "../../schema/protocol/index.ts";

export async function signedEnrollment(
  token: string,
  name: string,
  tweak: { time?: number; signWith?: Uint8Array; labels?: Record<string, string> } = {},
) {
  const keys = await generateKeyPair();
  const publicKey = formatHostKey(keys.publicKey);
  const time = tweak.time ?? Date.now();
  const signer = await Signer.fromSeed(tweak.signWith ?? keys.seed);
  const labels = tweak.labels ? { labels: tweak.labels } : {};
  const signature = Buffer.from(
    await signer.sign(enrollmentMessage({ token, name, publicKey, time })),
  ).toString("base64url");
  return { token, name, publicKey, time, signature, ...labels };
}
