// Trade audit bundles, `pairgrid/trade-bundle/1`: one trade's whole chain (offer, the bid it
// answers, acceptance, answer, settlement, certificate, dispute, retirement) with both meters'
// readings over the block and both parties' credentials, verifiable offline by anyone.
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { PartyId, RecordId, Time } from '../records/common-schemas.js'
import { verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import { canonicalize } from '../records/canonical.js'
import type { RecordType } from '../records/registry.js'
import { certificateProblem, chainProblem, checkTradeSettlement } from './delivery.js'
import { TRADE_TYPES } from './book.js'

export const TRADE_BUNDLE_FORMAT = 'pairgrid/trade-bundle/1'

export const TradeBundleSchema = Type.Object({
  format: Type.Literal(TRADE_BUNDLE_FORMAT),
  trade: RecordId,
  exportedBy: PartyId,
  exportedAt: Time,
  records: Type.Array(Type.Unknown(), { minItems: 2, maxItems: 16 }),
  producerReadings: Type.Array(Type.Unknown(), { maxItems: 1_000_000 }),
  buyerReadings: Type.Array(Type.Unknown(), { maxItems: 1_000_000 }),
  credentials: Type.Array(Type.Unknown(), { maxItems: 128, description: 'both parties\' profiles and accreditations' })
}, { additionalProperties: false })
const bundleCheck = TypeCompiler.Compile(TradeBundleSchema)

export interface TradeBundle {
  format: typeof TRADE_BUNDLE_FORMAT
  trade: string
  exportedBy: string
  exportedAt: number
  records: Envelope[]
  producerReadings: Envelope[]
  buyerReadings: Envelope[]
  credentials: Envelope[]
}

export interface TradeBundleSummary {
  trade: string
  kind: 'energy-trade'
  marketplace: string
  producer: string
  buyer: string
  block: { start: number, end: number }
  quantityWh: number
  status: 'accepted' | 'confirmed' | 'refused' | 'settled' | 'disputed' | 'settling'
  refusal?: string
  deliveredWh?: number
  receivedWh?: number
  amount?: { minor: number, currency: string }
  gridConnect?: string
  certificate?: string
  retired: boolean
  /** A dispute over readings or arithmetic is checked here; a ledger dispute needs the logs. */
  dispute?: { reason: string, substantiated?: boolean }
  /** Each party's meter is bound to it by its profile or a meter certification in the bundle. */
  metersBound: boolean
  records: number
  readings: number
}

export type TradeBundleVerdict = { ok: true, summary: TradeBundleSummary } | { ok: false, fault: string }

export function makeTradeBundle (trade: string, chain: Verified[], producerReadings: Envelope[], buyerReadings: Envelope[], credentials: Envelope[], exportedBy: string, exportedAt: number): TradeBundle {
  return { format: TRADE_BUNDLE_FORMAT, trade, exportedBy, exportedAt, records: chain.map(v => v.record), producerReadings, buyerReadings, credentials }
}

const LEDGER_REASONS = new Set(['fork-detected', 'ledger-mismatch'])

/** Verifies a trade bundle offline: every signature, every link, both digests, the arithmetic, the payload, the certificate. */
export function verifyTradeBundle (value: unknown): TradeBundleVerdict {
  if (!bundleCheck.Check(value)) {
    const e = bundleCheck.Errors(value).First()
    return { ok: false, fault: `not a trade bundle: ${e?.path ?? ''} ${e?.message ?? ''}` }
  }
  const byType = new Map<RecordType, Verified>()
  for (const [i, raw] of value.records.entries()) {
    let v: Verified
    try { v = verifyRecord(raw, TRADE_TYPES, { fresh: true }) } catch (err) { return { ok: false, fault: `record ${i}: ${(err as Error).message}` } }
    if (byType.has(v.record.type)) return { ok: false, fault: `record ${i}: a second ${v.record.type}` }
    byType.set(v.record.type, v)
  }
  const get = <T extends RecordType>(t: T): Verified<T> | undefined => byType.get(t) as Verified<T> | undefined
  const offer = get('trade.offer')
  const acceptance = get('trade.acceptance')
  if (offer === undefined || acceptance === undefined) return { ok: false, fault: 'a trade bundle needs the offer and the acceptance' }
  if (acceptance.id !== value.trade) return { ok: false, fault: `acceptance ${acceptance.id} is not the bundle's trade ${value.trade}` }
  const o = offer.record.body
  const a = acceptance.record.body
  if (a.offer !== offer.id) return { ok: false, fault: 'the acceptance does not accept this offer' }
  const bid = get('trade.bid')
  if (bid !== undefined && o.bid !== bid.id) return { ok: false, fault: 'the bid is not the one the offer answers' }
  const summary: TradeBundleSummary = {
    trade: acceptance.id, kind: 'energy-trade', marketplace: o.marketplace, producer: o.producer, buyer: a.buyer, block: o.block, quantityWh: a.quantityWh,
    status: 'accepted', retired: false, metersBound: false, records: value.records.length, readings: value.producerReadings.length + value.buyerReadings.length
  }
  const bound = new Set<string>()
  const profiles = new Map<string, Verified<'party.profile'>>()
  for (const [i, raw] of value.credentials.entries()) {
    let v: Verified
    try { v = verifyRecord(raw, ['party.profile', 'credential.accreditation'] as const, { fresh: true }) } catch (err) { return { ok: false, fault: `credential ${i}: ${(err as Error).message}` } }
    const b = v.record.body as { party?: string, subject?: string, kind?: string, meter?: string }
    const party = b.party ?? b.subject
    if (party !== o.producer && party !== a.buyer) return { ok: false, fault: `credential ${i} is about neither party` }
    if (v.record.type === 'party.profile') profiles.set(party, v as Verified<'party.profile'>)
    if (b.meter !== undefined && (v.record.type === 'party.profile' || b.kind === 'meter-certification')) bound.add(`${party}|${b.meter}`)
  }
  summary.metersBound = bound.has(`${o.producer}|${o.meter}`) && bound.has(`${a.buyer}|${a.buyerMeter}`)
  const producerAt = profiles.get(o.producer)?.record.body.location
  if (producerAt !== undefined && canonicalize(producerAt) !== canonicalize(o.deliveryPoint)) return { ok: false, fault: 'the offer\'s delivery point is not the producer\'s profile location' }
  const confirmation = get('trade.confirmation')
  const refusal = get('trade.refusal')
  if (confirmation !== undefined && refusal !== undefined) return { ok: false, fault: 'both a confirmation and a refusal' }
  if (refusal !== undefined) {
    const r = refusal.record.body
    if (r.acceptance !== acceptance.id || r.offer !== offer.id || r.producer !== o.producer || r.buyer !== a.buyer) return { ok: false, fault: 'the refusal does not answer this acceptance between these parties' }
    summary.status = 'refused'
    summary.refusal = r.reason
  }
  if (confirmation !== undefined) {
    const problem = chainProblem({ offer, acceptance, confirmation })
    if (problem !== undefined) return { ok: false, fault: problem }
    summary.status = 'confirmed'
  }
  const settlement = get('trade.settlement')
  const certificate = get('trade.certificate')
  const dispute = get('trade.dispute')
  const retirement = get('trade.retirement')
  if (settlement === undefined) {
    return certificate === undefined && dispute === undefined && retirement === undefined ? { ok: true, summary } : { ok: false, fault: 'a certificate, dispute or retirement without the settlement' }
  }
  if (confirmation === undefined) return { ok: false, fault: 'a settlement without a confirmation' }
  const s = settlement.record.body
  if (s.acceptance !== acceptance.id || s.offer !== offer.id || s.confirmation !== confirmation.id) return { ok: false, fault: 'the settlement does not settle this chain' }
  const buyerAt = profiles.get(a.buyer)?.record.body.location
  if (buyerAt !== undefined && canonicalize(buyerAt) !== canonicalize(s.exergy.location.load)) return { ok: false, fault: 'the payload\'s load location is not the buyer\'s profile location' }
  const check = checkTradeSettlement(settlement, {
    offer, acceptance, confirmation, producerReadings: value.producerReadings, buyerReadings: value.buyerReadings, buyerBlockWh: s.buyerMeter.blockWh, buyerLocation: s.exergy.location.load, verify: { fresh: true }
  })
  Object.assign(summary, { deliveredWh: s.deliveredWh, receivedWh: s.receivedWh, amount: s.amount, gridConnect: s.exergy.gridConnect.state })
  if (dispute !== undefined) {
    const d = dispute.record.body
    if (d.settlement !== settlement.id || d.acceptance !== acceptance.id || d.by !== a.buyer || d.against !== o.producer) return { ok: false, fault: 'the dispute does not dispute this settlement between these parties' }
    summary.status = 'disputed'
    summary.dispute = LEDGER_REASONS.has(d.reason) ? { reason: d.reason } : { reason: d.reason, substantiated: !check.ok }
    return { ok: true, summary }
  }
  if (settlement.record.sigs.length !== 2) return { ok: false, fault: 'the settlement is not countersigned' }
  if (!check.ok) return { ok: false, fault: `the settlement does not match its readings and terms: ${check.reason}: ${check.detail}` }
  summary.status = 'settled'
  if (certificate !== undefined) {
    const problem = certificateProblem(certificate, settlement)
    if (problem !== undefined) return { ok: false, fault: problem }
    if (certificate.record.sigs.length !== 2) return { ok: false, fault: 'the certificate is not countersigned' }
    summary.certificate = certificate.id
  }
  if (retirement !== undefined) {
    const r = retirement.record.body
    if (certificate === undefined || r.certificate !== certificate.id || r.by !== a.buyer || r.producer !== o.producer) return { ok: false, fault: 'the retirement does not retire this trade\'s certificate by its buyer' }
    summary.retired = true
  }
  return { ok: true, summary }
}
