// The telemetry behind a settlement: the meter's signed readings over the method's span,
// contiguous, and digested as an RFC 9162 Merkle root over their record ids in seq order.
import { merkleRoot } from '../log/merkle.js'
import { fromHex, toHex } from '../records/bytes.js'
import { verifyRecord, type Verified, type VerifyOptions } from '../records/envelope.js'
import type { Telemetry } from '../records/grid-schemas.js'
import type { DisputeReason } from '../records/grid-schemas.js'

/** The largest power (W or var) a reading may state: the schema's bound on avgW and avgVar. */
const MAX_POWER = 1_000_000_000

export function telemetryDigest (readings: ReadonlyArray<Verified<'meter.reading'>>): string {
  return toHex(merkleRoot(readings.map(r => fromHex(r.id))))
}

export type TelemetryResult =
  | { ok: true, readings: Array<Verified<'meter.reading'>>, telemetry: Telemetry }
  | { ok: false, reason: DisputeReason, detail: string }

/**
 * Results by readings array: the hundreds of settlements of one window share one array of
 * readings (fetched or read once per span) and would each check it again. Readings arrays are not
 * changed once received. Fresh checks (audits) are never served from here.
 */
const checked = new WeakMap<readonly unknown[], Map<string, TelemetryResult>>()

/**
 * Checks raw readings (as received) against the meter and span a settlement names: every
 * reading verifies and is the meter's, seqs are contiguous, times step by the interval, and the
 * first and last readings close exactly at the span's ends.
 */
export function checkTelemetry (raw: readonly unknown[], meter: string, span: { from: number, to: number }, verify: VerifyOptions = {}): TelemetryResult {
  if (verify.fresh === true) return checkReadings(raw, meter, span, verify)
  let results = checked.get(raw)
  if (results === undefined) checked.set(raw, results = new Map())
  const key = `${meter} ${span.from} ${span.to}`
  let result = results.get(key)
  if (result === undefined) results.set(key, result = checkReadings(raw, meter, span, verify))
  return result
}

function checkReadings (raw: readonly unknown[], meter: string, span: { from: number, to: number }, verify: VerifyOptions): TelemetryResult {
  const readings: Array<Verified<'meter.reading'>> = []
  for (const [i, r] of raw.entries()) {
    try {
      readings.push(verifyRecord(r, ['meter.reading'] as const, verify))
    } catch (err) {
      return { ok: false, reason: 'bad-reading', detail: `reading ${i}: ${(err as Error).message}` }
    }
  }
  if (readings.length < 2) return { ok: false, reason: 'missing-readings', detail: `${readings.length} reading(s) cannot cover ${span.from}..${span.to}` }
  const foreign = readings.find(r => r.record.body.meter !== meter)
  if (foreign !== undefined) return { ok: false, reason: 'meter-mismatch', detail: `reading ${foreign.record.body.seq} is signed by meter ${foreign.record.body.meter}, not the committed meter ${meter}` }
  for (let i = 1; i < readings.length; i++) {
    const a = readings[i - 1]!.record.body
    const b = readings[i]!.record.body
    if (b.seq !== a.seq + 1) return { ok: false, reason: b.seq <= a.seq ? 'bad-reading' : 'missing-readings', detail: `reading seq ${b.seq} follows ${a.seq} (duplicated, reordered or missing readings)` }
    if (b.t !== a.t + b.intervalMs) return { ok: false, reason: 'bad-reading', detail: `reading ${b.seq} closes at ${b.t}, expected ${a.t + b.intervalMs}` }
    if (b.intervalMs !== a.intervalMs) return { ok: false, reason: 'bad-reading', detail: `reading ${b.seq} changes the interval from ${a.intervalMs} to ${b.intervalMs} ms` }
    // Registers may not rise faster than the largest power a reading can state (1 GW): a meter
    // claiming more is broken, and its numbers would overflow the settlement's bounds.
    const maxStep = Math.ceil(MAX_POWER * b.intervalMs / 3_600_000)
    for (const k of ['importWh', 'exportWh', 'importVarh', 'exportVarh'] as const) {
      const step = b[k] - a[k]
      if (step < 0 || step > maxStep) return { ok: false, reason: 'bad-reading', detail: `reading ${b.seq}: ${k} moves by ${step} in ${b.intervalMs} ms (0..${maxStep} allowed)` }
    }
  }
  const first = readings[0]!.record.body
  const last = readings.at(-1)!.record.body
  if (first.t !== span.from || last.t !== span.to) {
    return { ok: false, reason: 'missing-readings', detail: `readings cover ${first.t}..${last.t}, the settlement needs ${span.from}..${span.to}` }
  }
  return {
    ok: true,
    readings,
    telemetry: { meter, from: first.t, to: last.t, count: readings.length, firstSeq: first.seq, lastSeq: last.seq, root: telemetryDigest(readings) }
  }
}
