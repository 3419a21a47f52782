// Locating a JSON syntax error: the scanner agrees with JSON.parse on what is JSON, and with V8 on where it breaks.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findJsonSyntaxError, invalidJsonMessage, lineAndColumn } from "../../src/http/json-syntax";

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const messageOf = (text: string) => {
  try {
    JSON.parse(text);
  } catch (err) {
    return invalidJsonMessage(text, err);
  }
  throw new Error("parsed");
};

describe("invalidJsonMessage", () => {
  it.each([
    ['{\n  "name": "Jane"\n  "email": "j@example.com"\n}', "expected ',' or '}' at line 3, column 3"],
    ["[1,]", "expected a value at line 1, column 4"],
    ['{"a": 1,}', "expected '\"' to start the next property name at line 1, column 9"],
    ["{", "expected '\"' to start a property name, or '}', but the body ends at line 1, column 2"],
    ['{"a": tru}', "expected 'true' at line 1, column 10"],
    ['{"a": "x\ty"}', "expected no raw control character inside a string (escape it, e.g. \\n) at line 1, column 9"],
    ['{"a": "\\x"}', "expected a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX) at line 1, column 9"],
    ["{} {}", "expected the end of the body after the JSON value at line 1, column 4"],
    ["name=x", "expected 'null' at line 1, column 2"],
    ["x=1", "expected a value at line 1, column 1"],
    ['{"a": 01}', "expected ',' or '}' at line 1, column 8"],
    ['{"a": -}', "expected a digit at line 1, column 8"],
    ['{"é😀": 1 2}', "expected ',' or '}' at line 1, column 10"],
  ])("%j: %s", (text, expected) => {
    expect(messageOf(text)).toBe(`Request body is not valid JSON: ${expected}`);
  });

  it("points at the line of the Metronome guide's missing comma", () => {
    const body = '[\n{\n"customer_id": "c",\n"transaction_id": "test1",\n"timestamp": "2026-03-01T12:34:56Z"\n"event_type": "transfer"\n}\n]';
    expect(messageOf(body)).toBe("Request body is not valid JSON: expected ',' or '}' at line 6, column 1");
  });

  it("falls back to V8's position when the scanner finds nothing (it never should)", () => {
    const msg = invalidJsonMessage('{"a":\n 1}', new SyntaxError("Something new in JSON at position 7 (line 2 column 2)"));
    // The text is valid JSON, so the scanner finds nothing and V8's words are used.
    expect(msg).toBe("Request body is not valid JSON: Something new at line 2, column 2");
    expect(invalidJsonMessage("{}", new SyntaxError("odd"))).toBe("Request body is not valid JSON: odd");
  });
});

describe("lineAndColumn", () => {
  it("counts lines by \\n (so \\r\\n too) and columns by character", () => {
    expect(lineAndColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn("a\r\nb", 3)).toEqual({ line: 2, column: 1 });
    expect(lineAndColumn("😀x", 2)).toEqual({ line: 1, column: 2 });
  });
});

describe("findJsonSyntaxError", () => {
  const jsonText = fc.jsonValue().map((v) => JSON.stringify(v, null, fc.sample(fc.constantFrom(0, 2), 1)[0]));
  /** A JSON text with one character inserted, deleted or replaced: often no longer JSON. */
  const mutated = fc
    .tuple(jsonText, fc.nat(), fc.constantFrom("insert", "delete", "replace"), fc.constantFrom(...',:{}[]"\\ \n0-.eE+tfnx\u0001'.split("")))
    .map(([text, at, how, ch]) => {
      const i = text.length === 0 ? 0 : at % text.length;
      if (how === "insert") return text.slice(0, i) + ch + text.slice(i);
      if (how === "delete") return text.slice(0, i) + text.slice(i + 1);
      return text.slice(0, i) + ch + text.slice(i + 1);
    });

  it("says a text is JSON exactly when JSON.parse does", () => {
    fc.assert(
      fc.property(fc.oneof(jsonText, mutated), (text) => {
        expect(findJsonSyntaxError(text) === null).toBe(parses(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("puts the error where V8 does whenever V8 names a position", () => {
    fc.assert(
      fc.property(mutated, (text) => {
        try {
          JSON.parse(text);
        } catch (err) {
          const position = /position (\d+)/.exec((err as Error).message);
          if (position) expect(findJsonSyntaxError(text)?.offset).toBe(Number(position[1]));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("copes with nesting far deeper than any call stack", () => {
    const deep = "[".repeat(200_000) + "]".repeat(199_999);
    expect(findJsonSyntaxError(deep)).toEqual({ offset: 399_999, expected: "expected ',' or ']'" });
  });
});
