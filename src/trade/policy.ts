// A node's trade configuration, <data>/trade.json: the producer's nameplate, the buyer's policy
// (which offers it takes and how it prices them, seed 002 [0116]) and an EV site's charging need.
// Operator input, so schema-checked when read.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { PartyId } from '../records/common-schemas.js'
import { DerCategory, Generation, LoadCoupling, Premiums, TradePrice, ZceSubclass } from '../records/trade-schemas.js'

const Tod = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:MM, UTC' })

export const ProducerPolicy = Type.Object({
  /** Nameplate of the generation behind the meter, stated in every offer. */
  nameplate: Type.Object({ generation: Generation, derCategory: DerCategory }, { additionalProperties: false }),
  /** Answer bids offering at least this rate with an offer at the bid's rate. */
  answerBids: Type.Optional(Type.Object({ minRate: TradePrice }, { additionalProperties: false }))
}, { additionalProperties: false })
export type ProducerPolicy = Static<typeof ProducerPolicy>

export const OfferFilters = Type.Object({
  zeroCarbonOnly: Type.Optional(Type.Boolean()),
  zceSubclasses: Type.Optional(Type.Array(ZceSubclass, { minItems: 1, maxItems: 4 })),
  sameFeederOnly: Type.Optional(Type.Boolean()),
  maxDistanceM: Type.Optional(Type.Integer({ minimum: 0, maximum: 40_000_000 })),
  maxLossPm: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  derVoltage: Type.Optional(Type.Array(Type.Union([Type.Literal('A'), Type.Literal('B')]), { minItems: 1, maxItems: 2 })),
  rideThrough: Type.Optional(Type.Array(Type.Union([Type.Literal('I'), Type.Literal('II'), Type.Literal('III')]), { minItems: 1, maxItems: 3 })),
  producers: Type.Optional(Type.Array(PartyId, { minItems: 1, maxItems: 64 }))
}, { additionalProperties: false })
export type OfferFilters = Static<typeof OfferFilters>

export const BuyerPolicy = Type.Object({
  loadCoupling: LoadCoupling,
  /** The highest base rate the buyer accepts. */
  maxRate: TradePrice,
  /** Offered in every acceptance: more for energy delivered while the area EPS is stressed. */
  premiums: Premiums,
  filters: OfferFilters,
  /** Take matching offers on its own, up to this much per block. */
  autoBuy: Type.Optional(Type.Object({ maxWhPerBlock: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }) }, { additionalProperties: false }))
}, { additionalProperties: false })
export type BuyerPolicy = Static<typeof BuyerPolicy>

export const EvNeed = Type.Object({
  arrival: Tod,
  departure: Tod,
  miles: Type.Integer({ minimum: 1, maximum: 1000 }),
  /** Driving efficiency measured at the charger (wall to wheels), tenths of a mile per kWh: 35 = 3.5 mi/kWh. */
  milesPerKWhX10: Type.Integer({ minimum: 10, maximum: 100 }),
  maxW: Type.Integer({ minimum: 1000, maximum: 350_000 }),
  /** The site's own draw besides the charger (controls, lighting). */
  baseW: Type.Integer({ minimum: 0, maximum: 100_000 }),
  blockMinutes: Type.Union([Type.Literal(5), Type.Literal(15), Type.Literal(60)]),
  /** What energy from the utility costs: the plan's fallback. */
  gridRate: TradePrice,
  /** Stored-coupling offers rank as if this much cheaper. */
  preferStoredBp: Type.Integer({ minimum: 0, maximum: 10_000 })
}, { additionalProperties: false })
export type EvNeed = Static<typeof EvNeed>

export const TradeConfig = Type.Object({
  producer: Type.Optional(ProducerPolicy),
  buyer: Type.Optional(BuyerPolicy),
  ev: Type.Optional(EvNeed)
}, { additionalProperties: false })
export type TradeConfig = Static<typeof TradeConfig>
const check = TypeCompiler.Compile(TradeConfig)

export const TRADE_CONFIG_FILE = 'trade.json'

/** The node's trade configuration; none (an empty one) when the file is absent. */
export async function readTradeConfig (dir: string): Promise<TradeConfig> {
  const path = join(dir, TRADE_CONFIG_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw err
  }
  let value: unknown
  try { value = JSON.parse(text) } catch (err) { throw new Error(`trade config ${path} is not JSON: ${(err as Error).message}`) }
  if (!check.Check(value)) {
    const e = check.Errors(value).First()
    throw new Error(`trade config ${path} is invalid at ${e?.path ?? '/'}: ${e?.message ?? ''}`)
  }
  if (value.ev !== undefined && value.buyer === undefined) throw new Error(`trade config ${path}: an EV need buys by the buyer policy; add one`)
  return value
}
