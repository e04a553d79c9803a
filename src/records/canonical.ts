// RFC 8785 (JCS) canonical JSON for pairgrid's wire subset: objects, arrays, strings,
// booleans, null and safe integers. Floats are not allowed on the wire, so a number that
// is not a safe integer is refused instead of being serialized with ES number formatting.
import { RecordError } from './errors.js'

export function canonicalize (value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isSafeInteger(value)) throw new RecordError('non-integer-number', `number ${String(value)} is not a safe integer`)
      return Object.is(value, -0) ? '0' : String(value)
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`
      const obj = value as Record<string, unknown>
      // JCS sorts keys by UTF-16 code units, which is what the default sort compares.
      const keys = Object.keys(obj).filter(k => obj[k] !== undefined).sort()
      return `{${keys.map(k => `${JSON.stringify(k)}:${canonicalize(obj[k])}`).join(',')}}`
    }
    default:
      throw new RecordError('unsupported-value', `cannot canonicalize a ${typeof value}`)
  }
}

const encoder = new TextEncoder()

export function canonicalBytes (value: unknown): Uint8Array {
  return encoder.encode(canonicalize(value))
}
