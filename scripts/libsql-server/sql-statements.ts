// Splits SQL text into statements and numbers each statement's parameters the way SQLite does.
//
// Why: the `libsql` package prepares only the first statement of a string and has no `tail`, yet the
// Hrana `sequence` request runs many, and `execute` must refuse more than one (HRANA_3_SPEC.md
// §Statements: "Issuing multiple statements separated by a semicolon is not supported"; sqld answers
// SQL_MANY_STATEMENTS). It also cannot name a statement's parameters, which binding by name and
// `describe` need.
//
// Statement ends follow sqlite3_complete() (src/complete.c): a `;` ends a statement unless it sits inside
// a CREATE TRIGGER body, which only ends at `END;`. Parameter numbers follow
// sqlite3ExprAssignVarNumber() (src/expr.c): `?` takes the next number, `?NNN` is NNN, and a named
// parameter reuses the number of an earlier one with the same name.
import { type Token, tokenizeSql } from "./sql-tokenize.ts";

export interface StatementParams {
  /** The largest parameter number: what sqlite3_bind_parameter_count() returns. */
  count: number;
  /** names[i] is the name of parameter i + 1 (`:a`, `?3`, …), or null for a nameless `?`. */
  names: Array<string | null>;
}

export interface SqlStatement {
  sql: string;
  /** The first keyword, upper-cased (`SELECT`, `EXPLAIN`, …), or "" when it starts otherwise. */
  firstKeyword: string;
  params: StatementParams;
}

// sqlite3_complete()'s token classes and states, with its transition table.
const Tk = { Semi: 0, Ws: 1, Other: 2, Explain: 3, Create: 4, Temp: 5, Trigger: 6, End: 7 } as const;
type TokenClass = (typeof Tk)[keyof typeof Tk];

const TRANSITIONS: ReadonlyArray<ReadonlyArray<number>> = [
  /* 0 INVALID */ [1, 0, 2, 3, 4, 2, 2, 2],
  /* 1 START   */ [1, 1, 2, 3, 4, 2, 2, 2],
  /* 2 NORMAL  */ [1, 2, 2, 2, 2, 2, 2, 2],
  /* 3 EXPLAIN */ [1, 3, 3, 2, 4, 2, 2, 2],
  /* 4 CREATE  */ [1, 4, 2, 2, 2, 4, 5, 2],
  /* 5 TRIGGER */ [6, 5, 5, 5, 5, 5, 5, 5],
  /* 6 SEMI    */ [6, 6, 5, 5, 5, 5, 5, 7],
  /* 7 END     */ [1, 7, 5, 5, 5, 5, 5, 5],
];
const STATE_START = 1;

const KEYWORD_CLASSES: Record<string, TokenClass> = {
  EXPLAIN: Tk.Explain,
  CREATE: Tk.Create,
  TEMP: Tk.Temp,
  TEMPORARY: Tk.Temp,
  TRIGGER: Tk.Trigger,
  END: Tk.End,
};

function _tokenClass(sql: string, token: Token): TokenClass {
  switch (token.kind) {
    case "semi":
      return Tk.Semi;
    case "space":
      return Tk.Ws;
    case "word":
      return KEYWORD_CLASSES[sql.slice(token.start, token.end).toUpperCase()] ?? Tk.Other;
    default:
      return Tk.Other;
  }
}

function _numberParams(sql: string, tokens: Token[]): StatementParams {
  const names: Array<string | null> = [];
  const byName = new Map<string, number>();
  let count = 0;
  for (const token of tokens) {
    if (token.kind !== "param") continue;
    const name = sql.slice(token.start, token.end);
    let index: number;
    if (name === "?") {
      index = ++count;
    } else if (name.startsWith("?")) {
      index = Number(name.slice(1));
      // Out-of-range numbers make SQLite reject the statement at prepare time; leave that to SQLite.
      if (!Number.isSafeInteger(index) || index < 1 || index > 32766) continue;
      count = Math.max(count, index);
      if (names[index - 1] == null) names[index - 1] = name;
      byName.set(name, index);
    } else {
      const known = byName.get(name);
      if (known !== undefined) continue;
      index = ++count;
      byName.set(name, index);
      names[index - 1] = name;
    }
  }
  return { count, names: Array.from({ length: count }, (_, i) => names[i] ?? null) };
}

function _statement(sql: string, tokens: Token[]): SqlStatement | undefined {
  const first = tokens.findIndex((t) => t.kind !== "space" && t.kind !== "semi");
  if (first === -1) return undefined;
  let last = tokens.length - 1;
  while (tokens[last]?.kind === "space" || tokens[last]?.kind === "semi") last--;
  const head = tokens[first] as Token;
  const body = tokens.slice(first, last + 1);
  return {
    sql: sql.slice(head.start, (tokens[last] as Token).end),
    firstKeyword: head.kind === "word" ? sql.slice(head.start, head.end).toUpperCase() : "",
    params: _numberParams(sql, body),
  };
}

/** The statements in `sql`, without empty ones (lone `;`, comments). */
export function splitStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let state = 0;
  let current: Token[] = [];
  for (const token of tokenizeSql(sql)) {
    current.push(token);
    state = (TRANSITIONS[state] as ReadonlyArray<number>)[_tokenClass(sql, token)] as number;
    if (token.kind === "semi" && state === STATE_START) {
      const statement = _statement(sql, current);
      if (statement) statements.push(statement);
      current = [];
    }
  }
  const rest = _statement(sql, current);
  if (rest) statements.push(rest);
  return statements;
}
