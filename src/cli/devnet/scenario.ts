// Devnet scenario files (devnet/*.json): authorities, marketplaces and their governance, the
// parties with their accreditations, framework agreements, and what each party does when.
import { readFile } from 'node:fs/promises'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Price, Quantity, Ref, ServiceType } from '../../records/common-schemas.js'
import { AccreditationKind, MarketAction, PartyKind } from '../../records/credential-schemas.js'
import { PriceMechanism } from '../../records/common-schemas.js'
import { TradeConfig } from '../../trade/policy.js'
import { ScenarioBid, ScenarioOffer, tradeScenarioProblem } from './trades.js'

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' })

export const ScenarioMarketplace = Type.Object({
  name: Name,
  operator: Name,
  description: Type.String({ maxLength: 512 }),
  priceMechanism: PriceMechanism,
  services: Type.Array(ServiceType, { minItems: 1 }),
  settlementMethods: Type.Array(Ref, { minItems: 1 }),
  settlementIntervalsMs: Type.Array(Type.Integer({ minimum: 60_000 }), { minItems: 1 }),
  toleranceBp: Type.Integer({ minimum: 0, maximum: 10_000 }),
  minimumBid: Quantity,
  roles: Type.Array(Type.Object({ kind: PartyKind, may: Type.Array(MarketAction, { minItems: 1 }), requires: Type.Array(AccreditationKind) }, { additionalProperties: false }), { minItems: 1 }),
  trustedAccreditors: Type.Array(Type.Object({ kind: AccreditationKind, accreditor: Name }, { additionalProperties: false })),
  tariffs: Type.Array(Type.Object({ reference: Ref, service: ServiceType, price: Price }, { additionalProperties: false }))
}, { additionalProperties: false })

export const ScenarioParty = Type.Object({
  name: Name,
  kind: PartyKind,
  marketplaces: Type.Array(Name, { minItems: 1 }),
  feeder: Type.Optional(Ref),
  /** A building spec, or the name of a shipped one. Present = this party provides grid services. */
  building: Type.Optional(Type.Unknown()),
  bidRates: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0 }))),
  /** Its trade.json: producer nameplate, buyer policy, EV need (peer-to-peer energy trade). */
  trade: Type.Optional(TradeConfig),
  accreditations: Type.Array(Type.Object({
    kind: AccreditationKind,
    by: Name,
    scope: Type.Optional(Name),
    /** Simulated minutes after the devnet's start at which it expires (default: a year). */
    expiresAfterMinutes: Type.Optional(Type.Integer({ minimum: 0 }))
  }, { additionalProperties: false }))
}, { additionalProperties: false })

export const ScenarioFramework = Type.Object({
  marketplace: Name,
  requester: Name,
  provider: Name,
  reference: Ref,
  services: Type.Array(ServiceType, { minItems: 1 }),
  price: Price,
  maxQuantity: Quantity
}, { additionalProperties: false })

export const ScenarioRequest = Type.Object({
  by: Name,
  atMinute: Type.Integer({ minimum: 0, maximum: 24 * 60 }),
  marketplace: Name,
  service: ServiceType,
  leadMinutes: Type.Integer({ minimum: 1, maximum: 24 * 60, description: 'window starts this many minutes after publication (rounded up to a whole minute)' }),
  durationMinutes: Type.Integer({ minimum: 1, maximum: 24 * 60 }),
  quantity: Quantity,
  price: Price,
  settlementMethod: Ref,
  settlementIntervalMs: Type.Optional(Type.Integer({ minimum: 60_000 })),
  toleranceBp: Type.Integer({ minimum: 0, maximum: 10_000 }),
  /** Auctions: minutes the bids are open (the request expires then); default: until the window starts. */
  biddingMinutes: Type.Optional(Type.Integer({ minimum: 1 })),
  /** How the transactions the request yields must end: how many in each final status. */
  expect: Type.Object({
    settled: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    disputed: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    rejected: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    expired: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 }))
  }, { additionalProperties: false })
}, { additionalProperties: false })

export const Scenario = Type.Object({
  name: Type.String({ maxLength: 64 }),
  description: Type.String({ maxLength: 2000 }),
  speed: Type.Number({ exclusiveMinimum: 0, maximum: 10_000 }),
  startTimeUtc: Type.String({ pattern: '^\\d{2}:\\d{2}$', description: 'simulated UTC time of day at which the devnet starts' }),
  meterIntervalMs: Type.Integer({ minimum: 1000, maximum: 900_000 }),
  authorities: Type.Array(Type.Object({ name: Name, description: Type.String({ maxLength: 200 }) }, { additionalProperties: false })),
  marketplaces: Type.Array(ScenarioMarketplace, { minItems: 1, maxItems: 16 }),
  parties: Type.Array(ScenarioParty, { minItems: 2, maxItems: 64 }),
  frameworks: Type.Array(ScenarioFramework),
  requests: Type.Array(ScenarioRequest, { maxItems: 1000 }),
  /** Energy offers and bids, published on schedule (src/cli/devnet/trades.ts). */
  offers: Type.Optional(Type.Array(ScenarioOffer, { maxItems: 1000 })),
  bids: Type.Optional(Type.Array(ScenarioBid, { maxItems: 1000 }))
}, { additionalProperties: false })
export type Scenario = Static<typeof Scenario>
export type ScenarioRequest = Static<typeof ScenarioRequest>
export type ScenarioParty = Static<typeof ScenarioParty>
const check = TypeCompiler.Compile(Scenario)

/** Schema and cross-reference checks; throws naming what is wrong. */
export function parseScenario (value: unknown, where: string): Scenario {
  if (!check.Check(value)) {
    const e = check.Errors(value).First()
    throw new Error(`scenario ${where} is invalid at ${e?.path ?? '/'}: ${e?.message ?? ''}`)
  }
  const parties = new Set(value.parties.map(p => p.name))
  const signers = new Set([...parties, ...value.authorities.map(a => a.name)])
  const markets = new Set(value.marketplaces.map(m => m.name))
  if (parties.size !== value.parties.length) throw new Error(`scenario ${where}: party names must be unique`)
  const fail = (what: string): never => { throw new Error(`scenario ${where}: ${what}`) }
  for (const m of value.marketplaces) {
    if (!parties.has(m.operator)) fail(`marketplace ${m.name}: unknown operator ${m.operator}`)
    for (const t of m.trustedAccreditors) if (!signers.has(t.accreditor)) fail(`marketplace ${m.name}: unknown accreditor ${t.accreditor}`)
  }
  for (const p of value.parties) {
    for (const m of p.marketplaces) if (!markets.has(m)) fail(`party ${p.name}: unknown marketplace ${m}`)
    for (const a of p.accreditations) if (!signers.has(a.by)) fail(`party ${p.name}: unknown accreditor ${a.by}`)
  }
  for (const f of value.frameworks) if (!parties.has(f.requester) || !parties.has(f.provider) || !markets.has(f.marketplace)) fail(`framework ${f.reference}: unknown party or marketplace`)
  for (const r of value.requests) {
    const by = value.parties.find(p => p.name === r.by)
    if (by === undefined) fail(`request by unknown party ${r.by}`)
    if (!by!.marketplaces.includes(r.marketplace)) fail(`${r.by} is not in marketplace ${r.marketplace}`)
  }
  const trade = tradeScenarioProblem(value)
  if (trade !== undefined) fail(trade)
  return value
}

export async function readScenario (path: string): Promise<Scenario> {
  let value: unknown
  try { value = JSON.parse(await readFile(path, 'utf8')) } catch (err) { throw new Error(`cannot read scenario ${path}: ${(err as Error).message}`) }
  return parseScenario(value, path)
}
