// Devnet scenario files (devnet/*.json): the parties, their marketplaces, and what each does when.
import { readFile } from 'node:fs/promises'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Price, Quantity, Ref, ServiceType } from '../../records/common-schemas.js'
import { Role } from '../../node/config.js'

export const ScenarioParty = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' }),
  role: Role,
  kind: Type.String({ maxLength: 64, description: 'the counterparty kind shown in summaries, e.g. distribution-utility' }),
  marketplaces: Type.Array(Ref, { minItems: 1 }),
  building: Type.Optional(Type.Unknown())
}, { additionalProperties: false })

export const ScenarioRequest = Type.Object({
  by: Type.String(),
  atMinute: Type.Integer({ minimum: 0, maximum: 24 * 60 }),
  marketplace: Ref,
  service: ServiceType,
  leadMinutes: Type.Integer({ minimum: 1, maximum: 24 * 60, description: 'window starts this many minutes after publication (rounded up to a whole minute)' }),
  durationMinutes: Type.Integer({ minimum: 1, maximum: 24 * 60 }),
  quantity: Quantity,
  price: Price,
  settlementMethod: Ref,
  toleranceBp: Type.Integer({ minimum: 0, maximum: 10_000 }),
  expect: Type.Union([Type.Literal('settled'), Type.Literal('disputed'), Type.Literal('rejected')])
}, { additionalProperties: false })

export const Scenario = Type.Object({
  name: Type.String({ maxLength: 64 }),
  description: Type.String({ maxLength: 2000 }),
  speed: Type.Number({ exclusiveMinimum: 0, maximum: 10_000 }),
  startTimeUtc: Type.String({ pattern: '^\\d{2}:\\d{2}$', description: 'simulated UTC time of day at which the devnet starts' }),
  meterIntervalMs: Type.Integer({ minimum: 1000, maximum: 900_000 }),
  parties: Type.Array(ScenarioParty, { minItems: 2, maxItems: 64 }),
  requests: Type.Array(ScenarioRequest, { maxItems: 1000 })
}, { additionalProperties: false })
export type Scenario = Static<typeof Scenario>
export type ScenarioRequest = Static<typeof ScenarioRequest>
const check = TypeCompiler.Compile(Scenario)

export async function readScenario (path: string): Promise<Scenario> {
  let value: unknown
  try { value = JSON.parse(await readFile(path, 'utf8')) } catch (err) { throw new Error(`cannot read scenario ${path}: ${(err as Error).message}`) }
  if (!check.Check(value)) {
    const e = check.Errors(value).First()
    throw new Error(`scenario ${path} is invalid at ${e?.path ?? '/'}: ${e?.message ?? ''}`)
  }
  const names = new Set(value.parties.map(p => p.name))
  if (names.size !== value.parties.length) throw new Error(`scenario ${path}: party names must be unique`)
  for (const r of value.requests) {
    const by = value.parties.find(p => p.name === r.by)
    if (by === undefined) throw new Error(`scenario ${path}: request by unknown party ${r.by}`)
    if (!by.marketplaces.includes(r.marketplace)) throw new Error(`scenario ${path}: ${r.by} is not in marketplace ${r.marketplace}`)
  }
  return value
}
