// Which Authorization headers carry an Outpost credential (dropped before the service) and which are
// an app's own (passed on a public or link exposure).
import { describe, expect, it } from "vitest";
import { carriesOutpostCredential } from "./credentials.ts";

const key = "opk_0123456789ab_0123456789abcdefghjkmnpqrstvwxyz0123456789ab";
const admin = "s3cret-platform-token-chosen-by-the-operator";
const basic = (userPass: string) => `Basic ${btoa(userPass)}`;

describe("carriesOutpostCredential", () => {
  it.each([
    `Bearer ${key}`,
    `bearer   ${key}`,
    "Bearer opa_test_1234",
    "Bearer oet_0123456789ab_x",
    `Bearer ${admin}`,
    `Token ${admin}`,
    basic(`me:${key}`),
    basic(`${admin}:`),
    `Basic dTpw, Bearer ${key}`,
    key,
  ])("finds one in %j", (header) => {
    expect(carriesOutpostCredential(header, admin)).toBe(true);
  });

  it.each([
    "Basic dTpw",
    basic("user:password"),
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abc",
    "Bearer eyJhbGciOi.xxopk_yy.sig", // "opk_" inside a base64url word is not a token of ours
    "Basic !!not-base64!!",
    "",
  ])("finds none in %j", (header) => {
    expect(carriesOutpostCredential(header, admin)).toBe(false);
  });

  it("does without an admin token", () => {
    expect(carriesOutpostCredential("Basic dTpw", undefined)).toBe(false);
    expect(carriesOutpostCredential(`Bearer ${key}`, undefined)).toBe(true);
  });
});
