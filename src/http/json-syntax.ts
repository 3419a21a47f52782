// Where and why a text is not JSON, as "line L, column C", for invalid_json's message (issue 15 item 8).
//
// NOTE: V8's JSON.parse names a position for some mistakes ("Expected ',' or '}' after property value in JSON at
// position 13") but not for others ("Unexpected token ']', "[1,]" is not valid JSON", "Unexpected end of JSON input"),
// and its wording changes between versions. So the text is scanned again here, only after JSON.parse refused it, by
// the RFC 8259 grammar; V8's "position N" is the fallback should the two ever disagree.

export interface JsonSyntaxError {
  /** UTF-16 offset of the first character that cannot continue a JSON text (text.length when the text ends early). */
  offset: number;
  /** What the grammar wanted there, e.g. "expected ',' or '}'". */
  expected: string;
}

const isWhitespace = (ch: string | undefined) => ch === " " || ch === "\t" || ch === "\n" || ch === "\r";
const isDigit = (ch: string | undefined) => ch !== undefined && ch >= "0" && ch <= "9";
const isHex = (ch: string | undefined) => ch !== undefined && /^[0-9a-fA-F]$/.test(ch);

/**
 * The first syntax error in `text`, or null when it is JSON.
 * NOTE: iterative (an explicit stack of open brackets), so a body nested 100,000 deep cannot overflow the call stack.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  const n = text.length;
  const stack: ("{" | "[")[] = [];
  let i = 0;
  const fail = (expected: string): JsonSyntaxError => ({ offset: Math.min(i, n), expected });
  const skipWhitespace = () => {
    while (isWhitespace(text[i])) i++;
  };

  /** A string starting at text[i] (a '"'); the error, or null with i just past its closing quote. */
  const scanString = (): JsonSyntaxError | null => {
    i++;
    for (;;) {
      if (i >= n) return fail("expected '\"' to close the string");
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return null;
      }
      if (ch.charCodeAt(0) < 0x20) return fail("expected no raw control character inside a string (escape it, e.g. \\n)");
      if (ch === "\\") {
        i++;
        const esc = text[i];
        if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i++;
        else if (esc === "u") {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!isHex(text[i])) return fail("expected 4 hex digits after \\u");
        } else return fail("expected a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)");
      } else i++;
    }
  };

  /** A number starting at text[i] ('-' or a digit); the error, or null with i just past it. */
  const scanNumber = (): JsonSyntaxError | null => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else if (isDigit(text[i])) while (isDigit(text[i])) i++;
    else return fail("expected a digit");
    if (text[i] === ".") {
      i++;
      if (!isDigit(text[i])) return fail("expected a digit after '.'");
      while (isDigit(text[i])) i++;
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (!isDigit(text[i])) return fail("expected a digit in the exponent");
      while (isDigit(text[i])) i++;
    }
    return null;
  };

  /** A property name and its ':' at text[i] (whitespace skipped); the error, or null with i at the value. */
  const scanKey = (expected: string): JsonSyntaxError | null => {
    if (text[i] !== '"') return fail(expected);
    const err = scanString();
    if (err) return err;
    skipWhitespace();
    if (text[i] !== ":") return fail("expected ':' after the property name");
    i++;
    return null;
  };

  for (;;) {
    // A value is due at i.
    skipWhitespace();
    const ch = text[i];
    let err: JsonSyntaxError | null = null;
    let opened = false;
    if (ch === "{") {
      i++;
      skipWhitespace();
      if (text[i] === "}") i++;
      else {
        err = scanKey("expected '\"' to start a property name, or '}'");
        stack.push("{");
        opened = true;
      }
    } else if (ch === "[") {
      i++;
      skipWhitespace();
      if (text[i] === "]") i++;
      else {
        stack.push("[");
        opened = true;
      }
    } else if (ch === '"') err = scanString();
    else if (ch === "-" || isDigit(ch)) err = scanNumber();
    else {
      const word = ch === "t" ? "true" : ch === "f" ? "false" : ch === "n" ? "null" : null;
      if (word === null) return fail("expected a value");
      // At the first wrong letter, where V8 puts it too.
      for (const letter of word) {
        if (text[i] !== letter) return fail(`expected '${word}'`);
        i++;
      }
    }
    if (err) return err;
    if (opened) continue;

    // A value ended: close what it completes, then find where the next value goes.
    for (;;) {
      skipWhitespace();
      const top = stack[stack.length - 1];
      if (top === undefined) return i < n ? fail("expected the end of the body after the JSON value") : null;
      const next = text[i];
      if (next === ",") {
        i++;
        if (top === "{") {
          skipWhitespace();
          const keyErr = scanKey("expected '\"' to start the next property name");
          if (keyErr) return keyErr;
        }
        break;
      }
      if (next === (top === "{" ? "}" : "]")) {
        i++;
        stack.pop();
        continue;
      }
      return fail(top === "{" ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
}

/** 1-based line and column of a UTF-16 offset; columns count characters (code points), as editors do. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === "\n") {
      line++;
      lineStart = k + 1;
    }
  }
  const column = Array.from(text.slice(lineStart, Math.min(offset, text.length))).length + 1;
  return { line, column };
}

/** The message of a `400 invalid_json` for a body JSON.parse refused with `parseError`. */
export function invalidJsonMessage(text: string, parseError: unknown): string {
  const prefix = "Request body is not valid JSON";
  const found = findJsonSyntaxError(text);
  if (found) {
    const { line, column } = lineAndColumn(text, found.offset);
    const where = `line ${line}, column ${column}`;
    return found.offset >= text.length ? `${prefix}: ${found.expected}, but the body ends at ${where}` : `${prefix}: ${found.expected} at ${where}`;
  }
  // NOTE: only if this scanner and V8 disagree about the text: use V8's own words and its position, when it gives one.
  const v8 = parseError instanceof Error ? parseError.message : String(parseError);
  const position = /\bposition (\d+)/.exec(v8);
  if (!position) return `${prefix}: ${v8}`;
  const { line, column } = lineAndColumn(text, Number(position[1]));
  return `${prefix}: ${v8.replace(/\s*in JSON at position \d+.*$/s, "")} at line ${line}, column ${column}`;
}
