// Settlement arithmetic and the counterparty's check of a settlement against its telemetry.
import type { Verified } from '../records/envelope.js'
import type { DisputeReason, SettlementBody } from '../records/grid-schemas.js'
import type { Price, Quantity, Window } from '../records/common-schemas.js'
import { canonicalize } from '../records/canonical.js'
import { checkTelemetry } from '../meter/telemetry.js'
import { settlementMethod } from './methods.js'

/** Energy the commitment covers: floor(quantity * duration / 1 h), in Wh or varh. */
export function committedEnergy (quantity: Quantity, window: Window): bigint {
  return (BigInt(quantity.value) * BigInt(window.end - window.start)) / 3_600_000n
}

/** Paid energy is the executed energy, never below zero nor above what was committed. */
export function paidEnergy (executedEnergy: bigint, quantity: Quantity, window: Window): bigint {
  const cap = committedEnergy(quantity, window)
  return executedEnergy < 0n ? 0n : executedEnergy > cap ? cap : executedEnergy
}

/** amount = floor(paid * rate / 1_000_000): rate is per MWh (Mvarh), paid is in Wh (varh). */
export function amountMinor (paid: bigint, price: Price): bigint {
  return (paid * BigInt(price.rate)) / 1_000_000n
}

/** True when executed falls short of committed by more than the tolerance. */
export function underDelivered (executed: bigint, committed: number, toleranceBp: number): boolean {
  return executed * 10_000n < BigInt(committed) * BigInt(10_000 - toleranceBp)
}

export type Computed = { ok: true, body: SettlementBody } | { ok: false, reason: DisputeReason, detail: string }

/** The settlement body the readings imply for an accepted commitment. */
export function computeSettlement (
  commitment: Verified<'grid.commitment'>,
  acceptanceId: string,
  rawReadings: readonly unknown[],
  issuedAt: number
): Computed {
  const c = commitment.record.body
  const method = settlementMethod(c.settlementMethod)
  if (method === undefined) return { ok: false, reason: 'terms-mismatch', detail: `unknown settlement method ${c.settlementMethod}` }
  const t = checkTelemetry(rawReadings, c.meter, method.span(c.window))
  if (!t.ok) return t
  const outcome = method.outcome(t.readings.map(r => r.record.body), c.window)
  if (outcome === undefined) return { ok: false, reason: 'missing-readings', detail: 'readings lack the span boundaries the method needs' }
  const paid = paidEnergy(outcome.executedEnergy, c.quantity, c.window)
  return {
    ok: true,
    body: {
      request: c.request,
      commitment: commitment.id,
      acceptance: acceptanceId,
      marketplace: c.marketplace,
      requester: c.requester,
      provider: c.provider,
      service: c.service,
      window: c.window,
      settlementMethod: c.settlementMethod,
      committed: c.quantity,
      baseline: Number(outcome.baseline),
      executed: Number(outcome.executed),
      paidEnergy: Number(paid),
      price: c.price,
      amount: { minor: Number(amountMinor(paid, c.price)), currency: c.price.currency },
      telemetry: t.telemetry,
      issuedAt
    }
  }
}

export type Check = { ok: true } | { ok: false, reason: DisputeReason, detail: string }

/**
 * The counterparty's check before it countersigns: recompute the settlement from the readings
 * and compare every field; then hold the executed quantity against the commitment's tolerance.
 */
export function checkSettlement (
  settlement: Verified<'grid.settlement'>,
  commitment: Verified<'grid.commitment'>,
  acceptanceId: string,
  toleranceBp: number,
  rawReadings: readonly unknown[]
): Check {
  const s = settlement.record.body
  const expected = computeSettlement(commitment, acceptanceId, rawReadings, s.issuedAt)
  if (!expected.ok) return expected
  const e = expected.body
  if (s.telemetry.meter !== e.telemetry.meter) return { ok: false, reason: 'meter-mismatch', detail: 'settlement names another meter than the commitment' }
  if (s.telemetry.root !== e.telemetry.root || canonicalize(s.telemetry) !== canonicalize(e.telemetry)) {
    return { ok: false, reason: 'digest-mismatch', detail: `settlement digest ${s.telemetry.root} (${s.telemetry.count} readings) ≠ readings' digest ${e.telemetry.root} (${e.telemetry.count})` }
  }
  for (const k of ['request', 'commitment', 'acceptance', 'marketplace', 'requester', 'provider', 'service', 'window', 'settlementMethod', 'committed', 'price'] as const) {
    if (canonicalize(s[k]) !== canonicalize(e[k])) return { ok: false, reason: 'terms-mismatch', detail: `settlement ${k} differs from the commitment` }
  }
  if (s.baseline !== e.baseline || s.executed !== e.executed || s.paidEnergy !== e.paidEnergy) {
    return { ok: false, reason: 'quantity-mismatch', detail: `settlement claims baseline ${s.baseline}, executed ${s.executed}, paid ${s.paidEnergy}; readings give ${e.baseline}, ${e.executed}, ${e.paidEnergy}` }
  }
  if (canonicalize(s.amount) !== canonicalize(e.amount)) return { ok: false, reason: 'amount-mismatch', detail: `settlement claims ${s.amount.minor} ${s.amount.currency}, readings give ${e.amount.minor}` }
  if (underDelivered(BigInt(s.executed), s.committed.value, toleranceBp)) {
    return { ok: false, reason: 'under-delivery', detail: `executed ${s.executed} ${s.committed.unit} is below committed ${s.committed.value} less ${toleranceBp / 100}% tolerance` }
  }
  return { ok: true }
}
