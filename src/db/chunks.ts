// Splitting lists for statements with limits: D1 and Durable Object SQLite cap bound parameters and bound string sizes.

/** Consecutive slices of at most `size` items (for IN lists under a bound-parameter cap). */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Consecutive slices whose summed `sizeOf` stays within `maxSize` (for JSON bound as one string under a size cap).
 * NOTE: an item larger than `maxSize` on its own still gets a slice of its own rather than being dropped.
 */
export function chunksBySize<T>(items: T[], sizeOf: (item: T) => number, maxSize: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemSize = sizeOf(item);
    if (current.length > 0 && size + itemSize > maxSize) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += itemSize;
  }
  if (current.length > 0) out.push(current);
  return out;
}
