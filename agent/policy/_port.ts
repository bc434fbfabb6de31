// Ports as text or numbers: 1..65535 (port 0 is "any" to bind(), never a destination, RFC 6335 §6),
// decimal digits only and no leading zeros, so `022` cannot be read as octal by anyone downstream.
import { _quote } from "./_quote.ts";

const DIGITS = /^[0-9]+$/;

/** Whether `text` is all digits: a port attempt rather than a service name or a host. */
export function _isPortLike(text: string): boolean {
  return DIGITS.test(text);
}

/** The port `value` names, or why it is not one. */
export function _readPort(value: string | number): { port: number } | { why: string } {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 1 && value <= 65535) return { port: value };
    return { why: `port ${value} is out of range (1..65535)` };
  }
  if (value === "") return { why: "the port is empty" };
  if (!DIGITS.test(value)) return { why: `port ${_quote(value)} is not a decimal number` };
  if (value.length > 1 && value.startsWith("0")) return { why: `port ${_quote(value)} has a leading zero` };
  const port = value.length > 5 ? Number.POSITIVE_INFINITY : Number(value);
  if (port < 1 || port > 65535) return { why: `port ${_quote(value)} is out of range (1..65535)` };
  return { port };
}
