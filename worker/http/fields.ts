// Field validators shared by the routes. Messages say what a valid value looks like.
import { z } from "zod";
import { ROLES } from "../../schema/db/tables.ts";
import {
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  NAME_PATTERN,
  NAME_RULE,
  parseDuration,
} from "../../schema/names.ts";

export const name = z.string({ error: "is required" }).regex(NAME_PATTERN, { error: `must be ${NAME_RULE}` });

/** A reference to an existing cluster or site: its name or its id (`cl_…`, `site_…`). */
export const ref = z
  .string({ error: "is required" })
  .regex(/^(?:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|(?:cl|site)_[0-9a-z]{16})$/, {
    error: "must be a name or an id",
  });

export const role = z.enum(ROLES, { error: `must be one of ${ROLES.join(", ")}` });

/** A duration like `30m`, bounded to [min, max]. */
export function duration(min: number, max: number, rule: string) {
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === null || ms < min || ms > max) {
      ctx.addIssue({ code: "custom", message: `must be a duration like 30m or 2h, ${rule}` });
      return z.NEVER;
    }
    return ms;
  });
}

export const labels = z
  .record(
    z.string().regex(LABEL_KEY_PATTERN, { error: "label keys are lowercase names up to 63 characters" }),
    z
      .string()
      .regex(LABEL_VALUE_PATTERN, { error: "label values are up to 63 letters, digits, '.', '_' or '-'" }),
  )
  .refine((m) => Object.keys(m).length <= 32, { error: "at most 32 labels" });

/** How many rows a page holds: 1-500, default 50. */
export const limitField = z.coerce
  .number({ error: "must be a whole number from 1 to 500" })
  .int({ error: "must be a whole number from 1 to 500" })
  .min(1, { error: "must be a whole number from 1 to 500" })
  .max(500, { error: "must be a whole number from 1 to 500" })
  .default(50);

export const pageQuery = z.object({
  limit: limitField,
  cursor: z.coerce
    .number({ error: "must be a nextCursor this listing returned" })
    .int({ error: "must be a nextCursor this listing returned" })
    .min(1, { error: "must be a nextCursor this listing returned" })
    .optional(),
});
