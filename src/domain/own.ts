// Writing a key a client chose into a plain object, where `obj[key] = value` with key "__proto__" would replace the
// object's prototype instead of adding a property (the property is lost, and a nested write would pollute the prototype).

/** `obj[key] = value`, as an own property whatever the key. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
