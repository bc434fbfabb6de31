// Matches a Stmt's `args` / `named_args` to the statement's parameters (HRANA_3_SPEC.md §Statements).
//
// The rules are sqld's (libsql-server/src/query.rs, `Params::bind`), so a statement that binds here binds
// on Turso: for each parameter 1..count, `?NNN` takes positional argument NNN, a named parameter takes the
// named argument with the same name, with or without its `:`/`@`/`$` prefix, and `?` takes the argument
// at its position. A missing value or a surplus argument is an error (ARGS_INVALID) instead of a silent
// NULL; the `libsql` package alone would bind NULL.
import { StmtError } from "./errors.ts";
import type { NamedArg, Value } from "./protocol.ts";
import type { StatementParams } from "./sql-statements.ts";
import { type BindValue, decodeValue } from "./values.ts";

function _argsInvalid(detail: string): StmtError {
  return new StmtError("ARGS_INVALID", `Arguments do not match SQL parameters: ${detail}`);
}

/**
 * The values to bind, by parameter number (index 0 is parameter 1). Callers have already refused a Stmt
 * with both kinds of argument. For EXPLAIN statements missing values are allowed and bound as NULL, as
 * sqld does, since nothing is executed.
 */
export function bindArgs(
  params: StatementParams,
  args: readonly Value[],
  namedArgs: readonly NamedArg[],
  allowMissing: boolean,
): BindValue[] {
  const named = new Map(namedArgs.map((arg) => [arg.name, arg.value]));
  const given = args.length > 0 ? args.length : named.size;
  if (given > params.count) {
    throw _argsInvalid(`too many parameters, expected ${params.count} found ${given}`);
  }

  const values: BindValue[] = [];
  for (let index = 1; index <= params.count; index++) {
    const name = params.names[index - 1] ?? null;
    let value: Value | undefined;
    if (name === null) value = args[index - 1];
    else if (name.startsWith("?")) value = args[Number(name.slice(1)) - 1];
    else value = named.get(name) ?? named.get(name.slice(1));

    if (value === undefined && !allowMissing) {
      throw _argsInvalid(`value for parameter ${name ?? index} not found`);
    }
    values.push(value === undefined ? null : decodeValue(value));
  }
  return values;
}
