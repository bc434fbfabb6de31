// An exposure's signed link, checked under the failed-authentication throttle (throttle.ts): counted
// per address and per exposure, 429 once either is over its allowance, and an address over its
// allowance is refused whatever link it sends, so a guesser cannot tell a right one from a wrong one.
import type { Context } from "hono";
import type { Exposure } from "../../schema/db/tables.ts";
import type { AppEnv } from "../env.ts";
import { verifyLink } from "../expose/links.ts";
import type { ApiError } from "../http/api-error.ts";
import { AuthThrottle } from "./throttle.ts";

/** Seconds the link has left; throws `refusal` when it does not verify, or 429 when told to wait. */
export async function checkLink(
  c: Context<AppEnv>,
  exposure: Exposure,
  link: string,
  refusal: ApiError,
): Promise<number> {
  const throttle = new AuthThrottle(c.env, c.req.raw.headers);
  const left = await verifyLink(c.env, exposure, link);
  await throttle.gate();
  if (left !== null) return left;
  throw await throttle.failed(refusal, "link does not verify", `expose ${exposure.name}`, {
    scope: "link",
    id: exposure.id,
    tenantId: exposure.tenantId,
    target: `exposure:${exposure.name}`,
    label: `links to exposure '${exposure.name}'`,
  });
}
