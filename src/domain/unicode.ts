// Well-formed UTF-16: a JSON body may carry a lone surrogate (`"\ud800"`), which no UTF-8 store can hold.

const ANY_SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether the string has no lone surrogate (what String.prototype.isWellFormed answers, in ES2022). */
export function isWellFormed(s: string): boolean {
  return !ANY_SURROGATE.test(s) || !LONE_SURROGATE.test(s);
}

/** Where the first ill-formed string sits: its path, and whether it is an object key at that path rather than a value. */
export interface IllFormedAt {
  path: Array<string | number>;
  inKey: boolean;
}

/**
 * The first string or object key (in document order) of a parsed JSON value that is not well-formed UTF-16, or null.
 * NOTE: SQLite and D1 store UTF-8, where a lone surrogate becomes U+FFFD: stored, it would no longer equal itself
 * (an idempotency key that never deduplicates, a name that changes). Walks with its own stack: a body nested
 * deeper than the call stack must not throw.
 */
export function findIllFormed(value: unknown): IllFormedAt | null {
  // Each entry links to its parent, so a deep body costs one entry per value, not one path copy per value.
  type Entry = { value: unknown; key: string | number | null; parent: Entry | null };
  const pathOf = (e: Entry | null) => {
    const path: Array<string | number> = [];
    for (let at = e; at !== null && at.key !== null; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const stack: Entry[] = [{ value, key: null, parent: null }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const v = entry.value;
    if (typeof v === "string") {
      if (!isWellFormed(v)) return { path: pathOf(entry), inKey: false };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, parent: entry });
    } else if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.some((k) => !isWellFormed(k))) return { path: pathOf(entry), inKey: true };
      for (let i = keys.length - 1; i >= 0; i--) stack.push({ value: (v as Record<string, unknown>)[keys[i]!], key: keys[i]!, parent: entry });
    }
  }
  return null;
}
