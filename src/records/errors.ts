// Every refusal of inbound data carries a stable machine-readable code; counters and logs key on it.
export type RecordErrorCode =
  | 'oversized'
  | 'malformed-json'
  | 'too-deep'
  | 'non-integer-number'
  | 'unsupported-value'
  | 'schema'
  | 'unknown-type'
  | 'bad-signature'
  | 'missing-signature'
  | 'unexpected-signer'
  | 'signer-not-peer'
  | 'duplicate-signature'

export class RecordError extends Error {
  readonly code: RecordErrorCode
  constructor (code: RecordErrorCode, message: string) {
    super(message)
    this.name = 'RecordError'
    this.code = code
  }
}
