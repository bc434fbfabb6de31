// Which origin a Host is, and which names no tenant may hold: the rules the gateway and the grant
// routes share, over the spellings a hostile Host header or grant request could use.
import { describe, expect, it } from "vitest";
import type { Bindings } from "../env.ts";
import { grantCandidates, requestOrigin, reservedExposureName, reservedReason, within } from "./origins.ts";

const env = (vars: Partial<Bindings> = {}) =>
  ({ PUBLIC_URL: "https://outpost.acme.com", EXPOSURE_DOMAIN: "apps.example.net", ...vars }) as Bindings;

describe("requestOrigin", () => {
  it("keeps the control plane's own hostnames for the API, however they are spelt", () => {
    for (const host of ["outpost.acme.com", "OUTPOST.ACME.COM", "outpost.acme.com.", "outpost.acme.com:443"])
      expect(requestOrigin(env(), host), host).toEqual({ kind: "api" });
    const more = env({ CONTROL_PLANE_HOSTNAMES: " api.acme.com , ops.acme.com" });
    expect(requestOrigin(more, "ops.acme.com")).toEqual({ kind: "api" });
  });

  it("gives IP literals, single labels, the apex and a missing Host to the API", () => {
    for (const host of [
      undefined,
      "",
      "127.0.0.1:8787",
      "[::1]:8787",
      "localhost",
      "apps.example.net",
      "x y",
    ])
      expect(requestOrigin(env(), host), String(host)).toEqual({ kind: "api" });
  });

  it("names an exposure by the one label under the exposure domain", () => {
    expect(requestOrigin(env(), "Shop.Apps.Example.Net:443")).toEqual({ kind: "named", name: "shop" });
    // Two labels are no exposure's name; the gateway answers 404 there, never the API.
    expect(requestOrigin(env(), "a.b.apps.example.net")).toEqual({ kind: "named", name: "a.b" });
  });

  it("looks up custom hostnames only when PUBLIC_URL is set and the name is not reserved", () => {
    expect(requestOrigin(env(), "www.shop.test")).toEqual({ kind: "custom", hostname: "www.shop.test" });
    expect(requestOrigin(env({ PUBLIC_URL: undefined }), "www.shop.test")).toEqual({ kind: "api" });
    for (const host of ["api.outpost.acme.com", "x.workers.dev", "a.localhost", "acme.com"])
      expect(requestOrigin(env(), host), host).toEqual({ kind: "api" });
  });
});

describe("reservedReason", () => {
  it("refuses the control plane's hostname, its parents and its children", () => {
    for (const name of ["outpost.acme.com", "acme.com", "eu.outpost.acme.com"])
      expect(reservedReason(env(), name), name).toMatch(/control plane's own hostname outpost\.acme\.com/);
  });

  it("refuses the exposure domain, what is under it and above it, localhost and workers.dev", () => {
    expect(reservedReason(env(), "apps.example.net")).toMatch(/exposure domain/);
    expect(reservedReason(env(), "x.apps.example.net")).toMatch(/exposure domain/);
    expect(reservedReason(env(), "example.net")).toMatch(/exposure domain/);
    expect(reservedReason(env(), "a.localhost")).toMatch(/under localhost/);
    expect(reservedReason(env(), "outpost.me.workers.dev")).toMatch(/under workers\.dev/);
  });

  it("allows names that only look alike: the boundary is a label", () => {
    for (const name of ["evilacme.com", "outpost.acme.com.evil.test", "shop.test", "myapps.example.net"])
      expect(reservedReason(env(), name), name).toBeUndefined();
    expect(within("evilacme.com", "acme.com")).toBe(false);
    expect(within("a.acme.com", "acme.com")).toBe(true);
  });
});

describe("reservedExposureName and grantCandidates", () => {
  it("refuses a name whose origin is the control plane's, and a control plane under the exposure domain", () => {
    const under = env({ PUBLIC_URL: "https://api.apps.example.net" });
    expect(reservedExposureName(under, "api")).toMatch(/control plane's own hostname/);
    expect(reservedExposureName(under, "shop")).toMatch(/domain of their own/);
    expect(reservedExposureName(env(), "shop")).toBeUndefined();
    // The apex may be the API's.
    expect(
      reservedExposureName(
        env({ PUBLIC_URL: "http://localhost:8787", EXPOSURE_DOMAIN: "localhost" }),
        "shop",
      ),
    ).toBeUndefined();
  });

  it("lists the hostname and its parents of two labels or more", () => {
    expect(grantCandidates("a.b.shop.test")).toEqual(["a.b.shop.test", "b.shop.test", "shop.test"]);
  });
});
