// The selector parser: print → parse round trips over random selectors, random text never escapes as
// anything but a SelectorSyntaxError, positions point at the fault, and matching follows each operator.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatSelector,
  matchesSelector,
  parseSelector,
  parseSelectors,
  type Requirement,
  SelectorSyntaxError,
} from "./selectors.ts";

const alnum = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789");
const keyArb = fc
  .tuple(alnum, fc.string({ unit: fc.constantFrom(..."abcxyz019._/-"), maxLength: 20 }), alnum)
  .map(([a, mid, b]) => `${a}${mid}${b}`);
const valueArb = fc.oneof(
  fc.constant(""),
  fc
    .tuple(alnum, fc.string({ unit: fc.constantFrom(..."aBZ09._-"), maxLength: 20 }), alnum)
    .map(([a, mid, b]) => `${a}${mid}${b}`.toUpperCase()),
  alnum,
);
const requirementArb: fc.Arbitrary<Requirement> = fc.oneof(
  fc.record({ key: keyArb, op: fc.constantFrom("=" as const, "!=" as const), value: valueArb }),
  fc.record({
    key: keyArb,
    op: fc.constantFrom("in" as const, "notin" as const),
    values: fc.array(valueArb.filter(Boolean), { minLength: 1, maxLength: 5 }),
  }),
  fc.record({ key: keyArb, op: fc.constantFrom("exists" as const, "!exists" as const) }),
);

describe("parseSelector", () => {
  it("round trips: parse(format(s)) is s", () => {
    fc.assert(
      fc.property(fc.array(requirementArb, { maxLength: 6 }), (s) => {
        expect(parseSelector(formatSelector(s))).toEqual(s);
      }),
      { numRuns: 2000 },
    );
  });

  it("round trips with blanks anywhere a token ends", () => {
    fc.assert(
      fc.property(fc.array(requirementArb, { minLength: 1, maxLength: 4 }), (s) => {
        const spaced = formatSelector(s).replace(/([,()=]|!=|\bin\b|\bnotin\b)/g, "  $1 ");
        expect(parseSelector(spaced)).toEqual(s);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses any text only with a SelectorSyntaxError naming a position inside it", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."ab=!,() in\t\x1b/.-é"), maxLength: 30 }), (text) => {
        try {
          parseSelector(text);
        } catch (error) {
          expect(error).toBeInstanceOf(SelectorSyntaxError);
          const at = (error as SelectorSyntaxError).position;
          expect(at).toBeGreaterThanOrEqual(1);
          expect(at).toBeLessThanOrEqual(text.length + 1);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ["role in (", 10, "found the end", 1],
    ["role in (a,)", 12, "expected a label value", 1],
    ["role in (web", 13, "',' or ')'", 1],
    ["role==web,,x", 11, "a label key", 1],
    ["role ~ web", 6, "expected '=', '!='", 1],
    ["Role=web", 1, "is not a label key", 1],
    ["env=prod!", 9, "',' between requirements", 1],
    ["zone in (a b)", 12, "',' or ')'", 1],
  ])("refuses %j at position %i", (text, position, words) => {
    let error: unknown;
    try {
      parseSelector(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SelectorSyntaxError);
    expect((error as SelectorSyntaxError).position).toBe(position);
    expect((error as Error).message).toContain(words);
    expect((error as Error).message).toContain(`position ${position}`);
  });

  it("refuses an oversize selector before reading it", () => {
    expect(() => parseSelector("a=b,".repeat(2000))).toThrow(/at most 4096 characters/);
  });

  it("reads every operator", () => {
    expect(parseSelector("role=web, env != dev,zone in (a, b),tier notin (x),gpu,!spot,a==b")).toEqual([
      { key: "role", op: "=", value: "web" },
      { key: "env", op: "!=", value: "dev" },
      { key: "zone", op: "in", values: ["a", "b"] },
      { key: "tier", op: "notin", values: ["x"] },
      { key: "gpu", op: "exists" },
      { key: "spot", op: "!exists" },
      { key: "a", op: "=", value: "b" },
    ]);
    expect(parseSelector("")).toEqual([]);
    expect(parseSelectors(["role=web", "zone in (a,b)"])).toHaveLength(2);
  });
});

describe("matchesSelector", () => {
  const web = { role: "web", zone: "a" };
  it.each([
    ["role=web", true],
    ["role=db", false],
    ["role!=db", true],
    ["gpu!=yes", true],
    ["zone in (a,b)", true],
    ["zone in (b,c)", false],
    ["gpu in (yes)", false],
    ["zone notin (b)", true],
    ["gpu notin (yes)", true],
    ["role", true],
    ["gpu", false],
    ["!gpu", true],
    ["!role", false],
    ["role=web,zone=b", false],
    ["", true],
    ["constructor", false],
    ["!constructor", true],
  ])("%j on {role: web, zone: a} is %s", (text, expected) => {
    expect(matchesSelector(parseSelector(text), web)).toBe(expected);
  });
});
