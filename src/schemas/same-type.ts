// Compile-time checks that a type declared outside src/schemas (the pure domain's, which may not import zod) and a zod
// schema's output describe the same JSON, so either one drifting from the other is a type error, not a runtime surprise.

/**
 * true only when A and B are the same type: assignable both ways AND with the same optional, readonly and `any` fields.
 * NOTE: mutual assignability alone is not enough: `{ a: string }` and `{ a: string; b?: string }` are assignable both
 * ways, so a field optional on one side and missing on the other would slip through. This is the usual identity check
 * (two generic functions are related only when their conditional types are identical).
 */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when T is true: `type _Checks = [Assert<Equal<z.output<typeof X>, DomainX>>]`. */
export type Assert<T extends true> = T;
