// Cookies through an exposure: the link cookie never goes up in any Cookie header, and a service's
// Set-Cookie never reaches past its own origin.
import { describe, expect, it } from "vitest";
import { cookieValue, hostOnly, withoutCookie } from "./cookies.ts";

describe("withoutCookie", () => {
  it("drops the cookie wherever it is, across Cookie headers merged with ', '", () => {
    expect(withoutCookie("a=1; outpost_link=x; b=2", "outpost_link")).toBe("a=1; b=2");
    expect(withoutCookie("a=1; b=2, outpost_link=x; c=3", "outpost_link")).toBe("a=1; b=2; c=3");
    expect(withoutCookie("a=1, outpost_link=x", "outpost_link")).toBe("a=1");
    expect(withoutCookie("outpost_link=x", "outpost_link")).toBe("");
  });

  it("drops lenient spellings of the name, and keeps names that only start with it", () => {
    expect(withoutCookie(" outpost_link =x;a=1", "outpost_link")).toBe("a=1");
    expect(withoutCookie("outpost_link2=x; xoutpost_link=y", "outpost_link")).toBe(
      "outpost_link2=x; xoutpost_link=y",
    );
  });

  it("keeps values with '=' whole", () => {
    expect(withoutCookie("t=a=b==; outpost_link=x", "outpost_link")).toBe("t=a=b==");
  });
});

describe("cookieValue", () => {
  it("finds the cookie in any of several Cookie headers merged with ', ', and its value whole", () => {
    expect(cookieValue("a=1, outpost_link=x.y=", "outpost_link")).toBe("x.y=");
    expect(cookieValue("outpost_link=v; a=1", "outpost_link")).toBe("v");
    expect(cookieValue("outpost_link2=v; a=1", "outpost_link")).toBeUndefined();
    expect(cookieValue(undefined, "outpost_link")).toBeUndefined();
  });
});

describe("hostOnly", () => {
  it.each([
    ["a=1; Domain=localhost; Path=/", "a=1; Path=/"],
    ["a=1; Path=/; domain=.localhost", "a=1; Path=/"],
    ["a=1;DOMAIN = shop.test ;Secure", "a=1;Secure"],
    ["a=1; Domain", "a=1"],
    [
      "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Domain=x.test; HttpOnly",
      "a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly",
    ],
  ])("%j becomes %j", (input, output) => {
    expect(hostOnly(input)).toBe(output);
  });

  it("keeps a cookie named Domain, and attributes that only start with the word", () => {
    expect(hostOnly("Domain=x; Path=/")).toBe("Domain=x; Path=/");
    expect(hostOnly("a=1; Domainx=y")).toBe("a=1; Domainx=y");
  });
});
