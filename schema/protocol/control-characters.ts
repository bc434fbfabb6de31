// Characters that remote text must not carry to a person's terminal: C0 controls (U+0000-001F; ESC
// starts every escape sequence, and `ESC ] 52 ;` writes the clipboard), DEL, C1 controls
// (U+0080-009F; U+009B is a one-character CSI, U+009D an OSC, where a terminal honours 8-bit
// controls), and the bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069) that make a
// line read differently from what it holds (Trojan Source, CVE-2021-42574). Tab and newline count too:
// every field this guards is one line, and a newline in one could forge a row of a table.
//
// The strict decoder refuses them in the text fields an agent fills in for a person to read (facts,
// error messages, close reasons); the API in names and labels; and the CLI escapes them in everything
// remote it prints, for a control plane that is older, or not ours.

/** One character of the set above (global: for replace). */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** The first control character in `text` as `U+001B at 4`, or undefined when there is none. */
export function findControlCharacter(text: string): string | undefined {
  const match = new RegExp(CONTROL_CHARACTERS.source).exec(text);
  if (match === null) return undefined;
  return `${_codePoint(match[0])} at ${match.index}`;
}

/** `text` with each control character written out visibly (`\x1b`, `\u202e`), for a terminal. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
  });
}

/** `text` with each control character replaced by U+FFFD, for a sender's own free text. */
export function replaceControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, "\ufffd");
}

function _codePoint(c: string): string {
  return `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}
