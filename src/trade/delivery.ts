// The settlement arithmetic of one trade (protocols/trade.md §5), a pure function of signed
// inputs: both meters' readings over the block, the offer, acceptance and confirmation, both
// parties' block totals and the buyer's location. The producer computes it to sign, the buyer to
// countersign, an offline verifier to check a bundle; all three must get the same body.
import type { Verified, VerifyOptions } from '../records/envelope.js'
import type { ReadingBody } from '../records/meter-schemas.js'
import type { CertificateBody, EpsConditions, Location, TradeDisputeReason, TradeSettlementBody } from '../records/trade-schemas.js'
import { canonicalize } from '../records/canonical.js'
import { checkTelemetry } from '../meter/telemetry.js'
import { blockGridState } from './grid-state.js'
import { afterLoss, lossEstimate } from './proximity.js'

export interface TradeChain {
  offer: Verified<'trade.offer'>
  acceptance: Verified<'trade.acceptance'>
  confirmation: Verified<'trade.confirmation'>
}

export interface DeliveryInputs extends TradeChain {
  producerReadings: readonly unknown[]
  buyerReadings: readonly unknown[]
  /** All the producer confirmed on its meter for this block (this trade included). */
  producerBlockWh: number
  /** All the buyer bought on its meter for this block (this trade included). */
  buyerBlockWh: number
  buyerLocation: Location
  ledger: TradeSettlementBody['ledger']
  issuedAt: number
  /** Audits verify every reading afresh. */
  verify?: VerifyOptions
}

export type Computed = { ok: true, body: TradeSettlementBody } | { ok: false, reason: TradeDisputeReason, detail: string }

/** Where a chain of records does not hang together; undefined when it does. */
export function chainProblem ({ offer, acceptance, confirmation }: TradeChain): string | undefined {
  const o = offer.record.body
  const a = acceptance.record.body
  const c = confirmation.record.body
  if (a.offer !== offer.id || c.acceptance !== acceptance.id || c.offer !== offer.id) return 'the records do not reference each other'
  if (a.producer !== o.producer || c.producer !== o.producer || c.buyer !== a.buyer) return 'the records name different parties'
  if (a.marketplace !== o.marketplace || canonicalize(a.block) !== canonicalize(o.block) || canonicalize(a.price) !== canonicalize(o.price)) return 'the acceptance repeats other terms than the offer\'s'
  if (c.quantityWh !== a.quantityWh || a.quantityWh > o.quantityWh) return 'the confirmed quantity differs from the accepted one or exceeds the offer'
  return undefined
}

const MIN = (a: bigint, b: bigint): bigint => a < b ? a : b

/** The register's part attributable to one trade: all of it fits, or a pro-rata share (rounded down). */
function share (registerWh: bigint, blockWh: bigint, acceptedWh: bigint): bigint {
  return blockWh <= registerWh ? acceptedWh : registerWh * acceptedWh / blockWh
}

/** Min, max and floor-mean of each EPS quantity over readings. */
export function epsConditions (readings: readonly ReadingBody[]): EpsConditions {
  const span = (xs: number[]): { min: number, max: number, mean: number } =>
    ({ min: Math.min(...xs), max: Math.max(...xs), mean: Number(xs.reduce((s, x) => s + BigInt(x), 0n) / BigInt(xs.length)) })
  return {
    voltagePu: span(readings.map(r => r.voltagePu)),
    frequencyMHz: span(readings.map(r => r.frequencyMHz)),
    maxAbsRocofMHzPerS: Math.max(...readings.map(r => Math.abs(r.rocofMHzPerS)))
  }
}

export function computeTradeSettlement (inputs: DeliveryInputs): Computed {
  const problem = chainProblem(inputs)
  if (problem !== undefined) return { ok: false, reason: 'terms-mismatch', detail: problem }
  const o = inputs.offer.record.body
  const a = inputs.acceptance.record.body
  const span = { from: o.block.start, to: o.block.end }
  const p = checkTelemetry(inputs.producerReadings, o.meter, span, inputs.verify)
  if (!p.ok) return { ok: false, reason: p.reason as TradeDisputeReason, detail: `producer's meter: ${p.detail}` }
  const b = checkTelemetry(inputs.buyerReadings, a.buyerMeter, span, inputs.verify)
  if (!b.ok) return { ok: false, reason: b.reason as TradeDisputeReason, detail: `buyer's meter: ${b.detail}` }
  const accepted = BigInt(a.quantityWh)
  if (inputs.producerBlockWh < a.quantityWh || inputs.buyerBlockWh < a.quantityWh) return { ok: false, reason: 'quantity-mismatch', detail: 'a block total is smaller than this trade alone' }
  const pFirst = p.readings[0]!.record.body
  const pLast = p.readings.at(-1)!.record.body
  const bFirst = b.readings[0]!.record.body
  const bLast = b.readings.at(-1)!.record.body
  const exportWh = BigInt(pLast.exportWh) - BigInt(pFirst.exportWh)
  const importWh = BigInt(bLast.importWh) - BigInt(bFirst.importWh)
  const producerShare = share(exportWh, BigInt(inputs.producerBlockWh), accepted)
  const buyerShare = share(importWh, BigInt(inputs.buyerBlockWh), accepted)
  const loss = lossEstimate(o.deliveryPoint, inputs.buyerLocation)
  // Energy sent that arrives as at most the buyer's share of its import.
  const absorbable = buyerShare * 1000n / BigInt(1000 - loss.lossPm)
  const delivered = MIN(MIN(producerShare, accepted), absorbable)
  const received = afterLoss(delivered, loss.lossPm)
  // A reading closing at the block start measured the interval before it.
  const grid = blockGridState(p.readings.slice(1).map(r => r.record.body))
  const premiumBp = grid.state === 'ride-through' ? a.premiums.rideThroughBp : grid.state === 'islanded' ? a.premiums.islandedBp : 0
  const rate = BigInt(o.price.rate) + BigInt(o.price.rate) * BigInt(premiumBp) / 10_000n
  const amount = received * rate / 1_000_000n
  const efficiencyPm = delivered > 0n ? Number(received * 1000n / delivered) : 1000 - loss.lossPm
  return {
    ok: true,
    body: {
      offer: inputs.offer.id,
      acceptance: inputs.acceptance.id,
      confirmation: inputs.confirmation.id,
      marketplace: o.marketplace,
      producer: o.producer,
      buyer: a.buyer,
      block: o.block,
      acceptedWh: a.quantityWh,
      producerMeter: { telemetry: p.telemetry, registerWh: Number(exportWh), blockWh: inputs.producerBlockWh, shareWh: Number(producerShare) },
      buyerMeter: { telemetry: b.telemetry, registerWh: Number(importWh), blockWh: inputs.buyerBlockWh, shareWh: Number(buyerShare) },
      deliveredWh: Number(delivered),
      lossWh: Number(delivered - received),
      receivedWh: Number(received),
      price: o.price,
      premiumBp,
      amount: { minor: Number(amount), currency: o.price.currency },
      exergy: {
        gridConnect: grid,
        generation: o.generation,
        derCategory: o.derCategory,
        loadCoupling: a.loadCoupling,
        eps: { source: epsConditions(p.readings.slice(1).map(r => r.record.body)), load: epsConditions(b.readings.slice(1).map(r => r.record.body)) },
        energy: { producedWh: Number(delivered), deliveredWh: Number(received) },
        location: { source: o.deliveryPoint, load: inputs.buyerLocation },
        proximity: { ...loss, efficiencyPm }
      },
      ledger: inputs.ledger,
      issuedAt: inputs.issuedAt
    }
  }
}

const REASON_OF: Partial<Record<keyof TradeSettlementBody, TradeDisputeReason>> = {
  producerMeter: 'bad-reading',
  buyerMeter: 'bad-reading',
  acceptedWh: 'quantity-mismatch',
  deliveredWh: 'quantity-mismatch',
  lossWh: 'quantity-mismatch',
  receivedWh: 'quantity-mismatch',
  price: 'amount-mismatch',
  premiumBp: 'amount-mismatch',
  amount: 'amount-mismatch',
  exergy: 'payload-mismatch',
  ledger: 'ledger-mismatch'
}

export type Check = { ok: true } | { ok: false, reason: TradeDisputeReason, detail: string }

/**
 * Recomputes a signed settlement from its inputs and compares every field. The producer's block
 * total is its own signed statement (certificates make a false one detectable); the buyer's is
 * what the buyer knows (or, offline, what it countersigned).
 */
export function checkTradeSettlement (settlement: Verified<'trade.settlement'>, inputs: Omit<DeliveryInputs, 'producerBlockWh' | 'ledger' | 'issuedAt'>): Check {
  const s = settlement.record.body
  const expected = computeTradeSettlement({ ...inputs, producerBlockWh: s.producerMeter.blockWh, ledger: s.ledger, issuedAt: s.issuedAt })
  if (!expected.ok) return expected
  const e = expected.body
  for (const key of Object.keys(e) as Array<keyof TradeSettlementBody>) {
    if (canonicalize(s[key]) !== canonicalize(e[key])) {
      return { ok: false, reason: REASON_OF[key] ?? 'terms-mismatch', detail: `${key} is ${canonicalize(s[key]).slice(0, 200)}, the readings and terms give ${canonicalize(e[key]).slice(0, 200)}` }
    }
  }
  return { ok: true }
}

/** The certificate a settlement yields: the producer's metered interval, the energy it certifies and the payload. */
export function certificateOf (settlement: Verified<'trade.settlement'>, issuedAt: number): CertificateBody {
  const s = settlement.record.body
  return {
    settlement: settlement.id,
    acceptance: s.acceptance,
    marketplace: s.marketplace,
    producer: s.producer,
    buyer: s.buyer,
    interval: { meter: s.producerMeter.telemetry.meter, from: s.block.start, to: s.block.end, exportWh: s.producerMeter.registerWh, soldWh: s.producerMeter.blockWh },
    certifiedWh: s.deliveredWh,
    exergy: s.exergy,
    issuedAt
  }
}

/** A certificate must be exactly what its settlement yields (issue time aside). */
export function certificateProblem (certificate: Verified<'trade.certificate'>, settlement: Verified<'trade.settlement'>): string | undefined {
  const c = certificate.record.body
  const expected = certificateOf(settlement, c.issuedAt)
  return canonicalize(c) === canonicalize(expected) ? undefined : 'the certificate does not state what its settlement yields'
}
