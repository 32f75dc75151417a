/** An edge's labels: what rollout waves select edges by (`dime edge --label KEY=VALUE`). */
export type Labels = Readonly<Record<string, string>>

/** Kubernetes' label syntax, which operators already write: an optional DNS prefix and `/`, then a name of at most 63 characters. */
const NAME = /^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/
const PREFIX = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/
/** At most this many labels an edge: they travel in every announcement, which has a fixed bound. */
export const MAX_LABELS = 16

export class InvalidLabelError extends Error {
  override readonly name: string = 'InvalidLabelError'
}

export function isLabelKey (key: string): boolean {
  const slash = key.lastIndexOf('/')
  return slash < 0 ? NAME.test(key) : PREFIX.test(key.slice(0, slash)) && NAME.test(key.slice(slash + 1))
}

/** A label value, or an edge's name: empty, or a label name. */
export function isLabelValue (value: string): boolean {
  return value === '' || NAME.test(value)
}

/** `KEY=VALUE` as a label; throws InvalidLabelError saying what is wrong. */
export function parseLabel (text: string): [string, string] {
  const equals = text.indexOf('=')
  if (equals < 0) throw new InvalidLabelError(`"${text}": expected KEY=VALUE`)
  const key = text.slice(0, equals)
  const value = text.slice(equals + 1)
  if (!isLabelKey(key)) throw new InvalidLabelError(`"${text}": the key "${key}" is not a label key (letters, digits, '-', '_' and '.', at most 63, optionally after a DNS prefix and '/')`)
  if (!isLabelValue(value)) throw new InvalidLabelError(`"${text}": the value "${value}" is not a label value (letters, digits, '-', '_' and '.', at most 63)`)
  return [key, value]
}

/** Labels travel in every announcement (at most 4 KiB): together they take at most this much. */
export const MAX_LABEL_BYTES = 1024

/** `--label` values as labels: each `KEY=VALUE`, no key twice, at most MAX_LABELS and MAX_LABEL_BYTES in all. */
export function labelsFrom (texts: string[]): Labels {
  const labels: Record<string, string> = {}
  for (const text of texts) {
    const [key, value] = parseLabel(text)
    if (key in labels) throw new InvalidLabelError(`"${text}": the key "${key}" is given twice`)
    labels[key] = value
  }
  if (Object.keys(labels).length > MAX_LABELS) throw new InvalidLabelError(`${Object.keys(labels).length} labels: at most ${MAX_LABELS}`)
  const bytes = Buffer.byteLength(JSON.stringify(labels))
  if (bytes > MAX_LABEL_BYTES) throw new InvalidLabelError(`the labels take ${bytes} bytes: at most ${MAX_LABEL_BYTES} in all`)
  return labels
}

export function isLabels (value: unknown): value is Labels {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const entries = Object.entries(value)
  return entries.length <= MAX_LABELS && entries.every(([key, label]) => isLabelKey(key) && typeof label === 'string' && isLabelValue(label))
}
