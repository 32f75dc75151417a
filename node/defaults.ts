/** Optional fields with nothing given, for `withDefaults`. */
export type Defaults<T> = { [K in keyof T as undefined extends T[K] ? K : never]-?: Exclude<T[K], undefined> }

/** An Init with every field present and defined. */
export type Filled<T> = { [K in keyof T]-?: Exclude<T[K], undefined> }

/**
 * An Init with every optional field filled in: a field given as undefined
 * keeps its default (a plain spread would overwrite the default with it).
 */
export function withDefaults<T extends object> (defaults: Defaults<T>, init: T): Filled<T> {
  const given = Object.fromEntries(Object.entries(init).filter(([, value]) => value !== undefined))
  return { ...defaults, ...given } as unknown as Filled<T>
}
