// Bodies of the peer-to-peer energy trade records (seed 002): offers and bids of energy blocks,
// the bilateral acceptance with its signed answer, the settlement from both parties' meters, the
// energy attribute certificate carrying the Exergy payload, disputes and retirements.
import { Type, type Static } from '@sinclair/typebox'
import { Amount, Currency, Detail, Nonce, PartyId, RecordId, Ref, Time, Window } from './common-schemas.js'
import { Checkpoint, Telemetry } from './grid-schemas.js'

const Wh = Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 })
const PositiveWh = Type.Integer({ minimum: 1, maximum: 1_000_000_000 })
const PerMille = Type.Integer({ minimum: 0, maximum: 1000 })
const Bp = Type.Integer({ minimum: 0, maximum: 10_000 })

/** Price of trade energy: minor units of `currency` per MWh received at the buyer's PCC. */
export const TradePrice = Type.Object({
  currency: Currency,
  rate: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'minor currency units per MWh' })
}, { additionalProperties: false })
export type TradePrice = Static<typeof TradePrice>

// A point of common coupling, as the party's signed profile states it.
export { Location } from './credential-schemas.js'
import { Location } from './credential-schemas.js'

/** EPA carbon-intensity class of the generation; zce = zero carbon emission at the point of generation. */
export const CarbonClass = Type.Union([Type.Literal('zce'), Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')])
export const ZceSubclass = Type.Union([Type.Literal('wind'), Type.Literal('solar-pv'), Type.Literal('hydro'), Type.Literal('nuclear')])

export const Generation = Type.Object({
  carbonClass: CarbonClass,
  zceSubclass: Type.Optional(ZceSubclass)
}, { additionalProperties: false, description: 'nameplate generation source; a subclass only with class zce' })
export type Generation = Static<typeof Generation>

/** IEEE 1547-2017 categories: A/B for distribution voltage, I/II/III for abnormal ride-through. */
export const DerCategory = Type.Object({
  voltage: Type.Union([Type.Literal('A'), Type.Literal('B')]),
  rideThrough: Type.Union([Type.Literal('I'), Type.Literal('II'), Type.Literal('III')])
}, { additionalProperties: false })
export type DerCategory = Static<typeof DerCategory>

export const StoredSubclass = Type.Union([Type.Literal('ev'), Type.Literal('battery'), Type.Literal('flywheel'), Type.Literal('pumped-hydro'), Type.Literal('thermal')])

export const LoadCoupling = Type.Object({
  class: Type.Union([Type.Literal('consumed'), Type.Literal('stored')]),
  subclass: Type.Optional(StoredSubclass)
}, { additionalProperties: false, description: 'how the served load uses the energy; a subclass only with class stored' })
export type LoadCoupling = Static<typeof LoadCoupling>

export const GridConnectState = Type.Union([Type.Literal('parallel'), Type.Literal('islanded'), Type.Literal('ride-through')])
export type GridConnectState = Static<typeof GridConnectState>

const Span = (max: number, min = 0) => Type.Object({
  min: Type.Integer({ minimum: min, maximum: max }),
  max: Type.Integer({ minimum: min, maximum: max }),
  mean: Type.Integer({ minimum: min, maximum: max })
}, { additionalProperties: false })

/** EPS conditions at one PCC over a block, from its meter's readings. */
export const EpsConditions = Type.Object({
  voltagePu: Span(2000),
  frequencyMHz: Span(70_000, 40_000),
  maxAbsRocofMHzPerS: Type.Integer({ minimum: 0, maximum: 100_000 })
}, { additionalProperties: false })
export type EpsConditions = Static<typeof EpsConditions>

export const Proximity = Type.Object({
  model: Ref,
  relation: Type.Union([Type.Literal('same-node'), Type.Literal('same-feeder'), Type.Literal('other-feeder')]),
  distanceM: Type.Integer({ minimum: 0, maximum: 40_000_000 }),
  lossPm: PerMille,
  efficiencyPm: PerMille
}, { additionalProperties: false })
export type Proximity = Static<typeof Proximity>

/** The Exergy payload of seed 002, FIG. 3: every attribute of one block of traded energy. */
export const ExergyPayload = Type.Object({
  gridConnect: Type.Object({
    state: GridConnectState,
    rule: Ref,
    readings: Type.Object({
      parallel: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
      rideThrough: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
      islanded: Type.Integer({ minimum: 0, maximum: 1_000_000 })
    }, { additionalProperties: false })
  }, { additionalProperties: false, description: 'derived from the producer\'s meter readings by `rule`, never stated by hand' }),
  generation: Generation,
  derCategory: DerCategory,
  loadCoupling: LoadCoupling,
  eps: Type.Object({ source: EpsConditions, load: EpsConditions }, { additionalProperties: false }),
  energy: Type.Object({ producedWh: Wh, deliveredWh: Wh }, { additionalProperties: false, description: 'at the producer\'s PCC, and at the buyer\'s PCC after losses' }),
  location: Type.Object({ source: Location, load: Location }, { additionalProperties: false }),
  proximity: Proximity
}, { additionalProperties: false })
export type ExergyPayload = Static<typeof ExergyPayload>

export const OfferBody = Type.Object({
  marketplace: Ref,
  producer: PartyId,
  meter: PartyId,
  block: Window,
  quantityWh: PositiveWh,
  price: TradePrice,
  deliveryPoint: Location,
  generation: Generation,
  derCategory: DerCategory,
  /** Offered only to loads of this coupling (a rate class, e.g. EV charging). */
  forCoupling: Type.Optional(LoadCoupling),
  /** The bid this offer answers. */
  bid: Type.Optional(RecordId),
  nonce: Nonce,
  issuedAt: Time,
  expiresAt: Time
}, { additionalProperties: false })
export type OfferBody = Static<typeof OfferBody>

export const BidBody = Type.Object({
  marketplace: Ref,
  buyer: PartyId,
  meter: PartyId,
  block: Window,
  quantityWh: PositiveWh,
  /** The highest rate the buyer pays. */
  price: TradePrice,
  deliveryPoint: Location,
  loadCoupling: LoadCoupling,
  zeroCarbonOnly: Type.Boolean(),
  sameFeederOnly: Type.Boolean(),
  nonce: Nonce,
  issuedAt: Time,
  expiresAt: Time
}, { additionalProperties: false })
export type BidBody = Static<typeof BidBody>

export const Premiums = Type.Object({
  rideThroughBp: Bp,
  islandedBp: Bp
}, { additionalProperties: false, description: 'added to the rate when the block\'s derived grid-connect state is ride-through or islanded' })
export type Premiums = Static<typeof Premiums>

export const TradeAcceptanceBody = Type.Object({
  offer: RecordId,
  marketplace: Ref,
  producer: PartyId,
  buyer: PartyId,
  buyerMeter: PartyId,
  block: Window,
  quantityWh: PositiveWh,
  price: TradePrice,
  loadCoupling: LoadCoupling,
  premiums: Premiums,
  nonce: Nonce,
  issuedAt: Time
}, { additionalProperties: false })
export type TradeAcceptanceBody = Static<typeof TradeAcceptanceBody>

export const ConfirmationBody = Type.Object({
  acceptance: RecordId,
  offer: RecordId,
  producer: PartyId,
  buyer: PartyId,
  quantityWh: PositiveWh,
  issuedAt: Time
}, { additionalProperties: false })
export type ConfirmationBody = Static<typeof ConfirmationBody>

export const TradeRefusalReason = Type.Union([
  Type.Literal('sold-out'),
  Type.Literal('expired'),
  Type.Literal('unknown-offer'),
  Type.Literal('terms-mismatch'),
  Type.Literal('coupling-mismatch'),
  Type.Literal('not-admitted'),
  Type.Literal('meter-not-bound')
])
export type TradeRefusalReason = Static<typeof TradeRefusalReason>

export const TradeRefusalBody = Type.Object({
  acceptance: RecordId,
  offer: RecordId,
  producer: PartyId,
  buyer: PartyId,
  reason: TradeRefusalReason,
  remainingWh: Wh,
  detail: Detail,
  issuedAt: Time
}, { additionalProperties: false })
export type TradeRefusalBody = Static<typeof TradeRefusalBody>

/** One party's meter over the block: its readings' digest, its register and its share of it. */
export const MeterShare = Type.Object({
  telemetry: Telemetry,
  registerWh: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'producer: export over the block; buyer: import over the block' }),
  blockWh: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'what this party traded on this meter for this block in all: the register is shared pro rata' }),
  shareWh: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
}, { additionalProperties: false })
export type MeterShare = Static<typeof MeterShare>

export const TradeSettlementBody = Type.Object({
  offer: RecordId,
  acceptance: RecordId,
  confirmation: RecordId,
  marketplace: Ref,
  producer: PartyId,
  buyer: PartyId,
  block: Window,
  acceptedWh: PositiveWh,
  producerMeter: MeterShare,
  buyerMeter: MeterShare,
  deliveredWh: Wh,
  lossWh: Wh,
  receivedWh: Wh,
  price: TradePrice,
  premiumBp: Bp,
  amount: Amount,
  exergy: ExergyPayload,
  ledger: Type.Object({ producer: Checkpoint, buyer: Checkpoint }, { additionalProperties: false, description: 'both parties\' log checkpoints when the producer signed' }),
  issuedAt: Time
}, { additionalProperties: false })
export type TradeSettlementBody = Static<typeof TradeSettlementBody>

/** The metered interval a certificate draws on: the producer's export over the block and what it sold of it. */
export const CertifiedInterval = Type.Object({
  meter: PartyId,
  from: Time,
  to: Time,
  exportWh: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  soldWh: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
}, { additionalProperties: false })
export type CertifiedInterval = Static<typeof CertifiedInterval>

export const CertificateBody = Type.Object({
  settlement: RecordId,
  acceptance: RecordId,
  marketplace: Ref,
  producer: PartyId,
  buyer: PartyId,
  interval: CertifiedInterval,
  certifiedWh: Wh,
  exergy: ExergyPayload,
  issuedAt: Time
}, { additionalProperties: false })
export type CertificateBody = Static<typeof CertificateBody>

export const TradeDisputeReason = Type.Union([
  Type.Literal('fork-detected'),
  Type.Literal('ledger-mismatch'),
  Type.Literal('bad-reading'),
  Type.Literal('missing-readings'),
  Type.Literal('meter-mismatch'),
  Type.Literal('terms-mismatch'),
  Type.Literal('quantity-mismatch'),
  Type.Literal('amount-mismatch'),
  Type.Literal('payload-mismatch'),
  Type.Literal('certificate-mismatch'),
  Type.Literal('double-certification')
])
export type TradeDisputeReason = Static<typeof TradeDisputeReason>

export const TradeDisputeBody = Type.Object({
  settlement: RecordId,
  acceptance: RecordId,
  offer: RecordId,
  by: PartyId,
  against: PartyId,
  reason: TradeDisputeReason,
  detail: Detail,
  issuedAt: Time
}, { additionalProperties: false })
export type TradeDisputeBody = Static<typeof TradeDisputeBody>

export const RetirementBody = Type.Object({
  certificate: RecordId,
  producer: PartyId,
  by: PartyId,
  purpose: Type.Literal('consumption'),
  issuedAt: Time
}, { additionalProperties: false })
export type RetirementBody = Static<typeof RetirementBody>

// Checks the schemas cannot express, for the registry.
const MINUTE = 60_000
/** Energy blocks are 5, 15 or 60 minutes long (seed 002 [0139]) and start on a multiple of their length. */
export const BLOCK_MINUTES = [5, 15, 60] as const

export function blockProblem (b: { start: number, end: number }): string | undefined {
  const len = b.end - b.start
  if (!BLOCK_MINUTES.some(m => m * MINUTE === len)) return `block must last ${BLOCK_MINUTES.join(', ')} minutes, not ${len} ms`
  return b.start % len === 0 ? undefined : 'block must start on a multiple of its length (UTC)'
}

export function generationProblem (g: Generation): string | undefined {
  return g.zceSubclass !== undefined && g.carbonClass !== 'zce' ? 'a zce subclass needs carbon class zce' : undefined
}

export function couplingProblem (c: LoadCoupling | undefined): string | undefined {
  return c?.subclass !== undefined && c.class !== 'stored' ? 'a load-coupling subclass needs class stored' : undefined
}

export function expiryProblem (b: { issuedAt: number, expiresAt: number, block: { start: number } }): string | undefined {
  if (b.expiresAt <= b.issuedAt) return 'expiresAt must be after issuedAt'
  return b.expiresAt > b.block.start ? 'expiresAt must not be after the block starts' : undefined
}

export function payloadProblem (p: ExergyPayload): string | undefined {
  return generationProblem(p.generation) ?? couplingProblem(p.loadCoupling)
}
