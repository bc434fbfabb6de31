// Field codecs for frames.ts: each reads one decoded CBOR value into its TypeScript form, checking type,
// length and range, and writes it back. A failure throws _FieldError; frames.ts turns that into a
// ProtocolError on receive and a TypeError on send.

import { _typeName } from "./_bytes.ts";
import type { CborKey, CborMap, CborValue } from "./cbor-value.ts";
import { findControlCharacter, replaceControlCharacters } from "./control-characters.ts";

export class _FieldError extends Error {}

export interface _Field<T> {
  /** Absent on the wire when undefined. */
  readonly optional: boolean;
  readonly read: (value: CborValue, at: string) => T;
  readonly write: (value: T) => CborValue;
}

function _describe(value: CborValue): string {
  if (typeof value === "number") return `integer ${value}`;
  if (typeof value === "string") return `text of ${value.length} characters`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return _typeName(value);
}

function _fail(at: string, expected: string, value: CborValue): never {
  throw new _FieldError(`field ${at} must be ${expected}, got ${_describe(value)}`);
}

export function _uint(min: number, max: number): _Field<number> {
  return {
    optional: false,
    read(value, at) {
      if (typeof value !== "number" || value < min || value > max)
        _fail(at, `an integer in ${min}..${max}`, value);
      return value;
    },
    write: (value) => value,
  };
}

export const _bool: _Field<boolean> = {
  optional: false,
  read(value, at) {
    if (typeof value !== "boolean") _fail(at, "a boolean", value);
    return value;
  },
  write: (value) => value,
};

export function _bytes(min: number, max: number): _Field<Uint8Array> {
  const expected = min === max ? `${min} bytes` : `${min}..${max} bytes`;
  return {
    optional: false,
    read(value, at) {
      if (!(value instanceof Uint8Array) || value.length < min || value.length > max)
        _fail(at, expected, value);
      return value;
    },
    write: (value) => value,
  };
}

export interface _TextRules {
  min?: number;
  /** In UTF-16 code units, i.e. JavaScript string length. */
  max: number;
  /** A regular expression the whole text must match, and how to say so. */
  pattern?: [RegExp, string];
  /** Refuse U+0000: it would truncate an argv element, path or env entry at the OS boundary. */
  noNul?: boolean;
  /**
   * One line of text for a person (control-characters.ts): refused on receive if it holds a control
   * character, and on send such characters become U+FFFD, so that a sender's own error message with a
   * newline in it never costs it the connection.
   */
  display?: boolean;
  /** On send, text beyond `max` is cut to it (at a code point) instead of refused: a sender's own message. */
  cut?: boolean;
}

export function _text(rules: _TextRules): _Field<string> {
  const min = rules.min ?? 0;
  return {
    optional: false,
    read(value, at) {
      if (typeof value !== "string" || value.length < min || value.length > rules.max) {
        _fail(at, `text of ${min}..${rules.max} characters`, value);
      }
      if (rules.noNul && value.includes("\0")) throw new _FieldError(`field ${at} must not contain U+0000`);
      const control = rules.display ? findControlCharacter(value) : undefined;
      if (control !== undefined) {
        throw new _FieldError(`field ${at} must not contain control characters, got ${control}`);
      }
      if (rules.pattern && !rules.pattern[0].test(value)) {
        throw new _FieldError(
          `field ${at} must be ${rules.pattern[1]}, got ${JSON.stringify(value.slice(0, 40))}`,
        );
      }
      return value;
    },
    write(value) {
      const text = rules.display ? replaceControlCharacters(value) : value;
      return rules.cut && text.length > rules.max ? _cutText(text, rules.max) : text;
    },
  };
}

/** `text` cut to at most `max` UTF-16 code units, never inside a surrogate pair. */
function _cutText(text: string, max: number): string {
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** One of a few fixed words. */
export function _oneOf<T extends string>(words: readonly T[]): _Field<T> {
  return {
    optional: false,
    read(value, at) {
      if (typeof value !== "string" || !(words as readonly string[]).includes(value)) {
        _fail(at, `one of ${words.join(", ")}`, value);
      }
      return value as T;
    },
    write: (value) => value,
  };
}

/** Text checked by one of keys.ts's parse functions (branded ids). */
export function _parsed<T extends string>(parse: (text: string) => T, what: string): _Field<T> {
  return {
    optional: false,
    read(value, at) {
      if (typeof value !== "string") _fail(at, what, value);
      try {
        return parse(value);
      } catch {
        throw new _FieldError(`field ${at} must be ${what}, got ${JSON.stringify(value.slice(0, 40))}`);
      }
    },
    write: (value) => value,
  };
}

export function _optional<T>(field: _Field<T>): _Field<T | undefined> {
  return { optional: true, read: field.read, write: (value) => field.write(value as T) };
}

export function _nullable<T>(field: _Field<T>): _Field<T | null> {
  return {
    optional: false,
    read: (value, at) => (value === null ? null : field.read(value, at)),
    write: (value) => (value === null ? null : field.write(value)),
  };
}

/** Either of two fields, told apart by CBOR type (e.g. a port number or a service name). */
export function _either<A, B>(
  a: _Field<A>,
  b: _Field<B>,
  which: (value: CborValue) => boolean,
): _Field<A | B> {
  return {
    optional: false,
    read: (value, at) => (which(value) ? a.read(value, at) : b.read(value, at)),
    write: (value) => (which(value as CborValue) ? a.write(value as A) : b.write(value as B)),
  };
}

export function _array<T>(item: _Field<T>, min: number, max: number): _Field<T[]> {
  return {
    optional: false,
    read(value, at) {
      if (!Array.isArray(value) || value.length < min || value.length > max) {
        _fail(at, `an array of ${min}..${max} items`, value);
      }
      return (value as CborValue[]).map((v, i) => item.read(v, `${at}[${i}]`));
    },
    write: (value) => value.map(item.write),
  };
}

/** A map of text to text, read into a plain record (Object.fromEntries makes "__proto__" an own key). */
export function _textRecord(
  key: _Field<string>,
  val: _Field<string>,
  max: number,
): _Field<Record<string, string>> {
  return {
    optional: false,
    read(value, at) {
      if (!(value instanceof Map) || value.size > max) _fail(at, `a map of at most ${max} entries`, value);
      const entries: [string, string][] = [];
      for (const [k, v] of value as CborMap) {
        if (typeof k !== "string") throw new _FieldError(`field ${at} must have text keys, got integer ${k}`);
        entries.push([key.read(k, `${at} key`), val.read(v, `${at}[${JSON.stringify(k.slice(0, 40))}]`)]);
      }
      return Object.fromEntries(entries);
    },
    write(value) {
      const map = new Map<CborKey, CborValue>();
      for (const [k, v] of Object.entries(value)) map.set(key.write(k) as CborKey, val.write(v));
      return map;
    },
  };
}

/**
 * An array of `list` in which no two items have the same text in any of `keys` (a name listed twice
 * would leave the receiver to pick one).
 */
export function _uniqueBy<T extends Record<K, string>, K extends string>(
  list: _Field<T[]>,
  keys: readonly K[],
): _Field<T[]> {
  return {
    optional: false,
    read(value, at) {
      const items = list.read(value, at);
      for (const key of keys) {
        const seen = new Set<string>();
        for (const [i, item] of items.entries()) {
          if (seen.has(item[key])) {
            throw new _FieldError(
              `field ${at}[${i}].${key} repeats an earlier item's, ${JSON.stringify(item[key].slice(0, 40))}`,
            );
          }
          seen.add(item[key]);
        }
      }
      return items;
    },
    write: list.write,
  };
}

/** An array of `list` in which no two items have the same texts in all of `keys` together. */
export function _uniqueTogether<T extends Record<K, string>, K extends string>(
  list: _Field<T[]>,
  keys: readonly K[],
): _Field<T[]> {
  return {
    optional: false,
    read(value, at) {
      const items = list.read(value, at);
      const seen = new Set<string>();
      for (const [i, item] of items.entries()) {
        const key = JSON.stringify(keys.map((k) => item[k]));
        if (seen.has(key)) {
          throw new _FieldError(`field ${at}[${i}] repeats an earlier item's ${keys.join(" and ")}`);
        }
        seen.add(key);
      }
      return items;
    },
    write: list.write,
  };
}

export type _Fields<T> = { [K in keyof T]-?: _Field<T[K]> };

/**
 * Reads `map` into an object with exactly `fields`: every required field present, no field unknown.
 * `skip` names keys the caller has already read (a frame's `t` and `seq`).
 */
export function _readFields(
  map: CborMap,
  fields: Readonly<Record<string, _Field<unknown>>>,
  prefix: string,
  skip: readonly string[] = [],
): Record<string, unknown> {
  for (const key of map.keys()) {
    // Object.hasOwn, not `in`: "constructor" or "__proto__" must not match Object.prototype.
    if (typeof key !== "string" || (!Object.hasOwn(fields, key) && !skip.includes(key))) {
      throw new _FieldError(`unknown field ${prefix}${JSON.stringify(key)}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const name in fields) {
    const field = fields[name]!;
    const value = map.get(name);
    if (value === undefined) {
      if (!field.optional) throw new _FieldError(`missing field ${prefix}${name}`);
      continue;
    }
    out[name] = field.read(value, prefix + name);
  }
  return out;
}

function _writeFields(
  object: Readonly<Record<string, unknown>>,
  fields: Readonly<Record<string, _Field<unknown>>>,
  into: Map<CborKey, CborValue>,
): void {
  for (const name in fields) {
    const value = object[name];
    if (value !== undefined) into.set(name, fields[name]!.write(value));
  }
}

/** A nested map with a fixed set of fields (host facts). */
export function _struct<T>(fields: _Fields<T>): _Field<T> {
  const table = fields as Record<string, _Field<unknown>>;
  return {
    optional: false,
    read(value, at) {
      if (!(value instanceof Map)) _fail(at, "a map", value);
      return _readFields(value as CborMap, table, `${at}.`) as T;
    },
    write(value) {
      const map = new Map<CborKey, CborValue>();
      _writeFields(value as Record<string, unknown>, table, map);
      return map;
    },
  };
}
