// # Label selectors
//
// Which hosts a listing, a fan-out exec or a job targets, by their labels (schema/names.ts's
// LABEL_KEY_PATTERN / LABEL_VALUE_PATTERN), in Kubernetes' set-based selector syntax cut down to
// what a fleet needs:
//
//   selector    = requirement *( "," requirement )        every requirement must hold (AND)
//   requirement = key "=" value | key "==" value           the label is set to value
//               | key "!=" value                           not set, or set to something else
//               | key "in" "(" value *( "," value ) ")"    set to one of the values
//               | key "notin" "(" value *( "," value ) ")" not set, or set to none of them
//               | key                                      set (to anything)
//               | "!" key                                  not set
//
// Blanks around tokens are ignored. One parser serves the Worker (routes, the ClusterDO), the SDK and
// the CLI, so a selector means the same everywhere; a selector that does not parse is a SyntaxError
// naming the position (1-based, in characters) and what was expected there, which the API returns as
// its 400. Written by hand: the grammar is a dozen lines, and no library parses exactly this one.

import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN } from "./names.ts";

// ## Types

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

/** Requirements that must all hold; an empty selector matches every host. */
export type Selector = Requirement[];

/** Selectors longer than this are refused (a query parameter, a CLI flag: nobody needs more). */
export const MAX_SELECTOR_LENGTH = 4096;
/** At most this many values in one `in (…)`. */
const MAX_SELECTOR_VALUES = 256;

/** A selector that does not parse: `position` is where (1-based), the message says what was expected. */
export class SelectorSyntaxError extends SyntaxError {
  readonly position: number;
  constructor(position: number, why: string) {
    super(`Cannot parse selector at position ${position}: ${why}`);
    this.name = "SelectorSyntaxError";
    this.position = position;
  }
}

// ## Parsing

/** Parses `text` (see the grammar above). Throws SelectorSyntaxError. */
export function parseSelector(text: string): Selector {
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw new SelectorSyntaxError(
      MAX_SELECTOR_LENGTH + 1,
      `a selector is at most ${MAX_SELECTOR_LENGTH} characters`,
    );
  }
  const p = new _Parser(text);
  const out: Selector = [];
  p.blanks();
  if (p.end()) return out;
  for (;;) {
    out.push(p.requirement());
    p.blanks();
    if (p.end()) return out;
    p.expect(",", "',' between requirements, or the end");
    p.blanks();
  }
}

/** Parses several selectors (repeated `-l` flags, `?selector=` twice) into one: all must hold. */
export function parseSelectors(texts: readonly string[]): Selector {
  return texts.flatMap((t) => parseSelector(t));
}

class _Parser {
  i = 0;
  constructor(readonly s: string) {}

  end(): boolean {
    return this.i >= this.s.length;
  }

  blanks(): void {
    while (this.s[this.i] === " " || this.s[this.i] === "\t") this.i++;
  }

  fail(why: string): never {
    throw new SelectorSyntaxError(this.i + 1, why);
  }

  expect(token: string, what: string): void {
    if (this.s.startsWith(token, this.i)) this.i += token.length;
    else this.fail(`expected ${what}${this.found()}`);
  }

  found(): string {
    return this.end() ? ", found the end" : `, found ${JSON.stringify(this.s[this.i])}`;
  }

  /** A run of characters that may be in a key or a value; checked against the rule afterwards. */
  word(): { text: string; at: number } {
    const at = this.i;
    while (this.i < this.s.length && /[A-Za-z0-9._/-]/.test(this.s[this.i]!)) this.i++;
    return { text: this.s.slice(at, this.i), at };
  }

  key(): string {
    const { text, at } = this.word();
    if (!text) this.fail(`expected a label key${this.found()}`);
    if (!LABEL_KEY_PATTERN.test(text)) {
      throw new SelectorSyntaxError(at + 1, `${JSON.stringify(text)} is not a label key (${LABEL_KEY_RULE})`);
    }
    return text;
  }

  value(inSet = false): string {
    const { text, at } = this.word();
    if (inSet && !text) this.fail(`expected a label value${this.found()}`);
    if (!LABEL_VALUE_PATTERN.test(text)) {
      throw new SelectorSyntaxError(
        at + 1,
        `${JSON.stringify(text)} is not a label value (${LABEL_VALUE_RULE})`,
      );
    }
    return text;
  }

  requirement(): Requirement {
    if (this.s[this.i] === "!") {
      this.i++;
      this.blanks();
      return { key: this.key(), op: "!exists" };
    }
    const key = this.key();
    this.blanks();
    const c = this.s[this.i];
    if (this.end() || c === ",") return { key, op: "exists" };
    if (c === "=") {
      this.i += this.s[this.i + 1] === "=" ? 2 : 1;
      this.blanks();
      return { key, op: "=", value: this.value() };
    }
    if (c === "!") {
      this.expect("!=", "'!='");
      this.blanks();
      return { key, op: "!=", value: this.value() };
    }
    const at = this.i;
    const { text } = this.word();
    if (text !== "in" && text !== "notin") {
      this.i = at;
      this.fail(
        `expected '=', '!=', 'in', 'notin', ',' or the end after the key ${JSON.stringify(key)}${this.found()}`,
      );
    }
    this.blanks();
    this.expect("(", `'(' after ${text}`);
    const values: string[] = [];
    for (;;) {
      this.blanks();
      values.push(this.value(true));
      if (values.length > MAX_SELECTOR_VALUES) this.fail(`at most ${MAX_SELECTOR_VALUES} values in one set`);
      this.blanks();
      if (this.s[this.i] === ")") {
        this.i++;
        return { key, op: text, values };
      }
      this.expect(",", "',' or ')' in the set");
    }
  }
}

const LABEL_KEY_RULE =
  "1-63 lowercase letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit";
const LABEL_VALUE_RULE =
  "up to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit";

// ## Printing and matching

/** The canonical text of `selector`: parseSelector(formatSelector(s)) gives s back. */
export function formatSelector(selector: Selector): string {
  return selector
    .map((r) => {
      switch (r.op) {
        case "=":
        case "!=":
          return `${r.key}${r.op}${r.value}`;
        case "in":
        case "notin":
          return `${r.key} ${r.op} (${r.values.join(",")})`;
        case "exists":
          return r.key;
        default:
          return `!${r.key}`;
      }
    })
    .join(",");
}

/** Whether a host with `labels` is selected: every requirement holds. */
export function matchesSelector(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const v = has ? labels[r.key] : undefined;
    switch (r.op) {
      case "=":
        return v === r.value;
      case "!=":
        return v !== r.value;
      case "in":
        return v !== undefined && r.values.includes(v);
      case "notin":
        return v === undefined || !r.values.includes(v);
      case "exists":
        return has;
      default:
        return !has;
    }
  });
}
