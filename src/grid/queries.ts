// The query both fetch protocols (telemetry, signals) take: one commitment id.
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { RecordId } from '../records/common-schemas.js'
import { RefusedError } from '../net/rpc.js'

const CommitmentQuery = TypeCompiler.Compile(Type.Object({ commitment: RecordId }, { additionalProperties: false }))

export function parseCommitmentQuery (bytes: Uint8Array): string {
  let query: unknown
  try { query = JSON.parse(new TextDecoder().decode(bytes)) } catch { throw new RefusedError('malformed-json', 'query is not JSON') }
  if (!CommitmentQuery.Check(query)) throw new RefusedError('schema', 'query must be {"commitment": <record id>}')
  return query.commitment
}
