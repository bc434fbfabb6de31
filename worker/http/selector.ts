// A label selector from a query parameter (`?selector=role=web,zone in (a,b)`), parsed with the one
// parser the SDK and CLI use (schema/selectors.ts); one that does not parse is a 400 naming where.
import { parseSelector, type Selector, SelectorSyntaxError } from "../../schema/selectors.ts";
import { ApiError } from "./api-error.ts";

export function selectorParam(text: string | undefined): Selector {
  try {
    return parseSelector(text ?? "");
  } catch (error) {
    if (error instanceof SelectorSyntaxError)
      throw ApiError.badRequest(`selector: ${error.message}`, "bad_selector");
    throw error;
  }
}
