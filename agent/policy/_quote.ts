// Quoting untrusted text (wire input, config) for a one-line message: single quotes, printable ASCII
// only, bounded, so a hostile service name cannot forge or break the line it is printed in.

const MAX_QUOTED = 64;

/** `'text'`, with anything outside printable ASCII (and `'`, `\`) escaped, cut at 64 characters. */
export function _quote(text: string): string {
  const cut = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text;
  const escaped = cut.replace(/[^\x20-\x7e]|['\\]/g, (c) =>
    c === "'" || c === "\\" ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `'${escaped}'`;
}
