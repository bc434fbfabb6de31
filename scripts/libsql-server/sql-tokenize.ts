// A lexer for SQLite SQL that knows just enough to split statements and find parameters: whitespace and
// comments, `;`, bare words, bound parameters, and everything else (quoted strings and identifiers,
// numbers, punctuation) as opaque tokens. It follows the character classes of SQLite's tokenize.c
// (https://sqlite.org/lang_expr.html#parameters for parameter forms); it never rejects input: whatever
// SQLite would reject is passed on and rejected by SQLite itself.

type TokenKind = "space" | "semi" | "word" | "param" | "other";

export interface Token {
  kind: TokenKind;
  start: number;
  end: number;
}

function _isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\f" || c === "\r";
}

function _isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function _isIdStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_" || c.charCodeAt(0) >= 0x80;
}

/** SQLite's IdChar(): letters, digits, `_`, `$` and every non-ASCII character. */
function _isIdChar(c: string): boolean {
  return _isIdStart(c) || _isDigit(c) || c === "$";
}

/** End of a quoted string or identifier; a doubled quote is an escaped quote. */
function _skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** End of a `:name`, `@name`, `$name` or `#name` parameter, TCL forms (`$a::b`, `$a(x)`) included. */
function _skipNamedParam(sql: string, start: number): number {
  let i = start + 1;
  let n = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (_isIdChar(c)) {
      n++;
      i++;
    } else if (c === "(" && n > 0) {
      while (i < sql.length && sql[i] !== ")" && !_isSpace(sql[i] as string)) i++;
      if (sql[i] === ")") i++;
      break;
    } else if (c === ":" && sql[i + 1] === ":") {
      i += 2;
    } else break;
  }
  return n === 0 ? start + 1 : i;
}

function _skipNumber(sql: string, start: number): number {
  let i = start;
  while (i < sql.length) {
    const c = sql[i] as string;
    const prev = sql[i - 1];
    if (_isIdChar(c) || c === ".") i++;
    else if ((c === "+" || c === "-") && (prev === "e" || prev === "E") && _isDigit(sql[i + 1] ?? "")) i++;
    else break;
  }
  return i;
}

export function tokenizeSql(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1] ?? "";
    const start = i;
    let kind: TokenKind = "other";
    if (_isSpace(c)) {
      while (i < sql.length && _isSpace(sql[i] as string)) i++;
      kind = "space";
    } else if (c === "-" && next === "-") {
      const eol = sql.indexOf("\n", i);
      i = eol === -1 ? sql.length : eol + 1;
      kind = "space";
    } else if (c === "/" && next === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close === -1 ? sql.length : close + 2;
      kind = "space";
    } else if (c === ";") {
      i++;
      kind = "semi";
    } else if (c === "'" || c === '"' || c === "`") {
      i = _skipQuoted(sql, i, c);
    } else if (c === "[") {
      const close = sql.indexOf("]", i);
      i = close === -1 ? sql.length : close + 1;
    } else if (c === "?") {
      i++;
      while (i < sql.length && _isDigit(sql[i] as string)) i++;
      kind = "param";
    } else if (c === ":" || c === "@" || c === "$" || c === "#") {
      i = _skipNamedParam(sql, i);
      kind = i > start + 1 ? "param" : "other";
    } else if (_isDigit(c) || (c === "." && _isDigit(next))) {
      i = _skipNumber(sql, i);
    } else if (_isIdStart(c)) {
      while (i < sql.length && _isIdChar(sql[i] as string)) i++;
      kind = "word";
    } else {
      i++;
    }
    tokens.push({ kind, start, end: i });
  }
  return tokens;
}
