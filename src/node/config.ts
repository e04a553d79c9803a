// A node's config.json, validated when read: it is operator input.
import { readFile, writeFile } from 'node:fs/promises'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Ref } from '../records/common-schemas.js'
import { Location, PartyKind } from '../records/credential-schemas.js'

export const NodeConfig = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' }),
  kind: PartyKind,
  location: Location,
  listen: Type.Array(Type.String({ maxLength: 200 }), { minItems: 1, maxItems: 8 }),
  listenBeyondLoopback: Type.Optional(Type.Boolean({ description: 'allow listen addresses other than 127.0.0.1/::1 (default false)' })),
  bootstrap: Type.Array(Type.String({ maxLength: 300 }), { maxItems: 64 }),
  marketplaces: Type.Array(Ref, { maxItems: 16, description: 'ids of the governance documents of the marketplaces this node joins' }),
  meterIntervalMs: Type.Integer({ minimum: 1000, maximum: 900_000 }),
  building: Type.Optional(Type.Unknown({ description: 'BuildingSpec; validated by src/building/spec.ts. Present = this party provides grid services' })),
  bidRates: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 }), { description: 'auction bid rate per service, minor units per MWh (Mvarh)' }))
}, { additionalProperties: false })
export type NodeConfig = Static<typeof NodeConfig>
const check = TypeCompiler.Compile(NodeConfig)

export async function readConfig (path: string): Promise<NodeConfig> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new Error(`cannot read node config ${path}: ${(err as Error).message} (run \`pairgrid init\` first)`)
  }
  if (!check.Check(value)) {
    const e = check.Errors(value).First()
    throw new Error(`node config ${path} is invalid at ${e?.path ?? '/'}: ${e?.message ?? ''}`)
  }
  return value
}

export async function writeConfig (path: string, config: NodeConfig): Promise<void> {
  await writeFile(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
}
