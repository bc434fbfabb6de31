// Request validation with zod through hono's validator, so the typed client sees the same shapes.
// Every failure is a 400 whose message names the field: `name: must be a DNS label …`.
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { ApiError } from "./api-error.ts";

function describe(issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "body"}: ${sentence(i)}`)
    .join("; ");
}

/** zod's own wording ("Too big: expected number to be <=500"), as opposed to a message a field set. */
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Unrecognized key|Expected )/;

/**
 * An issue as a sentence about the field: a field's own message as written, zod's default messages
 * rewritten ("must be at most 500"), so no raw validator text reaches a user.
 */
export function sentence(issue: z.core.$ZodIssue): string {
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  const unit = (origin: string, n: number | bigint) =>
    origin === "string" ? `${n} characters` : origin === "array" || origin === "set" ? `${n} items` : `${n}`;
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? "is required" : `must be a ${issue.expected}`;
    case "too_small":
      return `must be at least ${unit(issue.origin, issue.minimum)}`;
    case "too_big":
      return `must be at most ${unit(issue.origin, issue.maximum)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map(String).join(", ")}`;
    case "unrecognized_keys":
      return `has unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    case "invalid_format":
      return `is not a valid ${issue.format}`;
    default:
      return "is not valid here";
  }
}

export function valid<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw ApiError.badRequest(describe(result.error.issues));
  });
}
