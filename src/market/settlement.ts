// Settlement arithmetic and the counterparty's check of a settlement against its telemetry.
import type { Verified, VerifyOptions } from '../records/envelope.js'
import { SettlementBody, type AcceptanceBody, type CommitmentBody, type DisputeReason } from '../records/grid-schemas.js'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { Price } from '../records/common-schemas.js'
import { canonicalize } from '../records/canonical.js'
import { checkTelemetry } from '../meter/telemetry.js'
import { settlementMethod } from './methods.js'
import { checkSignals } from './signals.js'

/** amount = floor(paid * rate / 1_000_000): rate is per MWh (Mvarh), paid is in Wh (varh). */
export function amountMinor (paid: bigint, price: Price): bigint {
  return (paid * BigInt(price.rate)) / 1_000_000n
}

/** The price a transaction settles at: an auction's clearing price, otherwise the commitment's. */
export function settledPrice (commitment: CommitmentBody, acceptance: AcceptanceBody): Price {
  return acceptance.price ?? commitment.price
}

/** True when performance falls short of the commitment by more than the tolerance. */
export function underDelivered (performancePm: number, toleranceBp: number): boolean {
  return performancePm * 10 < 10_000 - toleranceBp
}

/** When the settlement is due: the end of the settlement interval that contains the window's end. */
export function settlementDue (windowEnd: number, settlementIntervalMs: number): number {
  return Math.ceil(windowEnd / settlementIntervalMs) * settlementIntervalMs
}

export type Computed = { ok: true, body: SettlementBody } | { ok: false, reason: DisputeReason, detail: string }

/** The settlement body the signed readings (and, for regulation, signals) imply for an accepted commitment. */
export function computeSettlement (
  commitment: Verified<'grid.commitment'>,
  acceptance: Verified<'grid.acceptance'>,
  rawReadings: readonly unknown[],
  rawSignals: readonly unknown[],
  ledger: SettlementBody['ledger'],
  issuedAt: number,
  verify: VerifyOptions = {}
): Computed {
  const c = commitment.record.body
  const price = settledPrice(c, acceptance.record.body)
  const method = settlementMethod(c.settlementMethod)
  if (method === undefined || method.service !== c.service) return { ok: false, reason: 'terms-mismatch', detail: `settlement method ${c.settlementMethod} does not settle ${c.service}` }
  if (c.quantity.unit !== method.unit || price.rateUnit !== (method.unit === 'W' ? 'MWh' : 'Mvarh')) return { ok: false, reason: 'terms-mismatch', detail: `${c.settlementMethod} settles ${method.unit} priced per ${method.unit === 'W' ? 'MWh' : 'Mvarh'}, not ${c.quantity.unit} per ${price.rateUnit}` }
  const t = checkTelemetry(rawReadings, c.meter, method.span(c.window), verify)
  if (!t.ok) return t
  const sig = method.signal ? checkSignals(rawSignals, commitment.id, c, verify) : undefined
  if (sig !== undefined && !sig.ok) return { ok: false, reason: 'bad-signal', detail: sig.detail }
  const outcome = method.outcome({ window: c.window, quantity: c.quantity, readings: t.readings.map(r => r.record.body), signals: sig?.ok === true ? sig.signals.map(s => s.record.body) : [] })
  if (outcome === undefined) return { ok: false, reason: 'missing-readings', detail: `readings do not give ${c.settlementMethod} what it needs (span boundaries, interval)` }
  const body: SettlementBody = {
      request: c.request,
      commitment: commitment.id,
      acceptance: acceptance.id,
      marketplace: c.marketplace,
      requester: c.requester,
      provider: c.provider,
      service: c.service,
      window: c.window,
      settlementMethod: c.settlementMethod,
      committed: c.quantity,
      baseline: Number(outcome.baseline),
      executed: Number(outcome.executed),
      paidEnergy: Number(outcome.paid),
      performance: Number(outcome.performance),
      price,
      amount: { minor: Number(amountMinor(outcome.paid, price)), currency: price.currency },
      telemetry: t.telemetry,
      ...(sig?.ok === true ? { signals: sig.digest } : {}),
      ledger,
      issuedAt
  }
  // What the counterparty's decoder would refuse must not be signed: the transaction would stall.
  if (!settlementCheck.Check(body)) return { ok: false, reason: 'bad-reading', detail: `the readings give a settlement out of bounds: ${settlementCheck.Errors(body).First()?.path ?? ''} ${settlementCheck.Errors(body).First()?.message ?? ''}` }
  return { ok: true, body }
}

const settlementCheck = TypeCompiler.Compile(SettlementBody)

export type Check = { ok: true } | { ok: false, reason: DisputeReason, detail: string }

/**
 * The counterparty's check before it countersigns: recompute the settlement from the readings
 * and signals and compare every field; then hold the performance against the tolerance.
 */
export function checkSettlement (
  settlement: Verified<'grid.settlement'>,
  commitment: Verified<'grid.commitment'>,
  acceptance: Verified<'grid.acceptance'>,
  toleranceBp: number,
  rawReadings: readonly unknown[],
  rawSignals: readonly unknown[],
  verify: VerifyOptions = {}
): Check {
  const s = settlement.record.body
  // The checkpoints are not derived from the readings: each party checks them against the logs.
  const expected = computeSettlement(commitment, acceptance, rawReadings, rawSignals, s.ledger, s.issuedAt, verify)
  if (!expected.ok) return expected
  const e = expected.body
  if (s.telemetry.meter !== e.telemetry.meter) return { ok: false, reason: 'meter-mismatch', detail: 'settlement names another meter than the commitment' }
  if (canonicalize(s.telemetry) !== canonicalize(e.telemetry)) {
    return { ok: false, reason: 'digest-mismatch', detail: `settlement digest ${s.telemetry.root} (${s.telemetry.count} readings) ≠ readings' digest ${e.telemetry.root} (${e.telemetry.count})` }
  }
  if (canonicalize(s.signals ?? null) !== canonicalize(e.signals ?? null)) return { ok: false, reason: 'bad-signal', detail: 'settlement signal digest differs from the signal records' }
  for (const k of ['request', 'commitment', 'acceptance', 'marketplace', 'requester', 'provider', 'service', 'window', 'settlementMethod', 'committed', 'price'] as const) {
    if (canonicalize(s[k]) !== canonicalize(e[k])) return { ok: false, reason: 'terms-mismatch', detail: `settlement ${k} differs from the commitment` }
  }
  if (s.baseline !== e.baseline || s.executed !== e.executed || s.paidEnergy !== e.paidEnergy || s.performance !== e.performance) {
    return { ok: false, reason: 'quantity-mismatch', detail: `settlement claims baseline ${s.baseline}, executed ${s.executed}, paid ${s.paidEnergy}, performance ${s.performance}‰; the readings give ${e.baseline}, ${e.executed}, ${e.paidEnergy}, ${e.performance}‰` }
  }
  if (canonicalize(s.amount) !== canonicalize(e.amount)) return { ok: false, reason: 'amount-mismatch', detail: `settlement claims ${s.amount.minor} ${s.amount.currency}, the readings give ${e.amount.minor}` }
  if (underDelivered(s.performance, toleranceBp)) {
    return { ok: false, reason: 'under-delivery', detail: `performance ${s.performance}‰ is below the ${(10_000 - toleranceBp) / 10}‰ the tolerance allows (executed ${s.executed} of ${s.committed.value} ${s.committed.unit})` }
  }
  return { ok: true }
}
