// The regulation signal behind a frequency-regulation settlement: the requester's signed
// setpoints for one commitment, one per 2-s slot of the window, digested like telemetry.
import { merkleRoot } from '../log/merkle.js'
import { fromHex, toHex } from '../records/bytes.js'
import { verifyRecord, type Verified, type VerifyOptions } from '../records/envelope.js'
import type { CommitmentBody } from '../records/grid-schemas.js'
import { SIGNAL_INTERVAL_MS } from './regd-score.js'

export type SignalCheck =
  | { ok: true, signals: Array<Verified<'grid.signal'>>, digest: { count: number, root: string } }
  | { ok: false, detail: string }

export function signalDigest (signals: ReadonlyArray<Verified<'grid.signal'>>): { count: number, root: string } {
  return { count: signals.length, root: toHex(merkleRoot(signals.map(s => fromHex(s.id)))) }
}

/** Checks raw signal records for a commitment: signed by its requester, in its window, on the 2-s grid, seq increasing. */
export function checkSignals (raw: readonly unknown[], commitmentId: string, c: CommitmentBody, verify: VerifyOptions = {}): SignalCheck {
  const signals: Array<Verified<'grid.signal'>> = []
  for (const [i, r] of raw.entries()) {
    let v: Verified<'grid.signal'>
    try { v = verifyRecord(r, ['grid.signal'] as const, verify) } catch (err) { return { ok: false, detail: `signal ${i}: ${(err as Error).message}` } }
    const b = v.record.body
    if (b.commitment !== commitmentId || b.requester !== c.requester || b.provider !== c.provider) return { ok: false, detail: `signal ${b.seq} belongs to another commitment` }
    if (b.t < c.window.start || b.t >= c.window.end || (b.t - c.window.start) % SIGNAL_INTERVAL_MS !== 0) return { ok: false, detail: `signal ${b.seq} at ${b.t} is off the window's 2-s grid` }
    const prev = signals.at(-1)?.record.body
    if (prev !== undefined && (b.seq <= prev.seq || b.t <= prev.t)) return { ok: false, detail: `signal ${b.seq} is out of order or duplicated` }
    signals.push(v)
  }
  return { ok: true, signals, digest: signalDigest(signals) }
}
