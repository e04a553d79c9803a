// The messages of the trade streams that are not a single record: the settle request (a
// settlement and its certificate), its answer, and the readings query. Schema-checked first.
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { verifyRecord, type Verified } from '../records/envelope.js'
import { RecordId } from '../records/common-schemas.js'
import { RefusedError } from '../net/rpc.js'

/** How long a handler waits for its own meter's reading at a block's end. */
export const REPLY_TIMEOUT_MS = 5_000

const Pair = TypeCompiler.Compile(Type.Object({ settlement: Type.Unknown(), certificate: Type.Unknown() }, { additionalProperties: false }))
const Disputed = TypeCompiler.Compile(Type.Object({ dispute: Type.Unknown() }, { additionalProperties: false }))
const ReadingsQuery = TypeCompiler.Compile(Type.Object({ acceptance: RecordId }, { additionalProperties: false }))

function json (bytes: Uint8Array): unknown {
  try { return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) } catch { throw new RefusedError('malformed-json', 'message is not UTF-8 JSON') }
}

export interface SettledPair { settlement: Verified<'trade.settlement'>, certificate: Verified<'trade.certificate'> }

/** A settlement and the certificate drawn from it, each verified; the certificate must name the settlement. */
export function parsePair (value: unknown): SettledPair {
  if (!Pair.Check(value)) throw new RefusedError('schema', 'expected {"settlement": <record>, "certificate": <record>}')
  const settlement = verifyRecord(value.settlement, ['trade.settlement'] as const)
  const certificate = verifyRecord(value.certificate, ['trade.certificate'] as const)
  if (certificate.record.body.settlement !== settlement.id) throw new RefusedError('schema', 'the certificate does not name the settlement')
  return { settlement, certificate }
}

export function parseSettleRequest (bytes: Uint8Array): SettledPair {
  return parsePair(json(bytes))
}

/** The buyer's answer: the pair countersigned, or its dispute. */
export function parseSettleAnswer (value: unknown): SettledPair | { dispute: Verified<'trade.dispute'> } {
  if (Disputed.Check(value)) return { dispute: verifyRecord(value.dispute, ['trade.dispute'] as const) }
  return parsePair(value)
}

export function parseReadingsQuery (bytes: Uint8Array): string {
  const q = json(bytes)
  if (!ReadingsQuery.Check(q)) throw new RefusedError('schema', 'query must be {"acceptance": <record id>}')
  return q.acceptance
}
