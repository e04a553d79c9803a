// JSON Schema (draft-07) documents of every record body, the envelope and the audit bundle,
// generated from the TypeBox schemas the code validates with. TypeBox schemas are JSON Schema
// objects; a JSON round trip drops TypeBox's symbol keys. protocols/schemas/ holds the output,
// and test/protocols.test.ts holds it equal to this function's, so the spec cannot drift.
import { recordSpecs, recordTypes } from './registry.js'
import { EnvelopeSchema } from './envelope.js'
import { BundleSchema } from '../log/bundle.js'

export const SCHEMA_DIALECT = 'http://json-schema.org/draft-07/schema#'
export const SCHEMA_BASE = 'https://pairgrid.dev/protocols/schemas/'

function document (file: string, title: string, schema: unknown): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>
  return { $schema: SCHEMA_DIALECT, $id: SCHEMA_BASE + file, title, ...plain }
}

/** File name (under protocols/schemas/) → JSON Schema document. */
export function jsonSchemas (): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  out['envelope.schema.json'] = document('envelope.schema.json', 'pairgrid signed record envelope (v1)', EnvelopeSchema)
  for (const type of recordTypes) {
    const file = `${type}.schema.json`
    out[file] = document(file, `pairgrid ${type} record body`, recordSpecs[type].schema)
  }
  out['audit-bundle.schema.json'] = document('audit-bundle.schema.json', 'pairgrid audit bundle (pairgrid/audit-bundle/1)', BundleSchema)
  return out
}

/** The exact text of a schema file: two-space JSON and a final newline. */
export function schemaFileText (schema: unknown): string {
  return JSON.stringify(schema, null, 2) + '\n'
}
