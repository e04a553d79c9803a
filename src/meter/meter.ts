// SIMULATION of the tamper-evident meter at the point of common coupling. It has its own Ed25519
// key (not the building's), integrates the PCC power it is given into cumulative import/export
// Wh and varh registers, and signs one `meter.reading` at every epoch-aligned interval boundary.
// Registers carry the floor of float accumulators, so they are monotone and the energy of any
// span is an exact difference of two readings. Voltage and frequency are the synthetic
// GridConditions, not a measurement.
import type { KeyPair } from '../identity/ed25519.js'
import { signRecord, type Verified } from '../records/envelope.js'
import type { ReadingBody } from '../records/meter-schemas.js'
import { GridConditions } from '../building/grid-conditions.js'

const MS_PER_H = 3_600_000

/** Everything a restarted meter needs to continue its registers and sequence. */
export interface MeterState {
  intervalMs: number
  /** seq of the next reading */
  seq: number
  /** integrated up to this simulated time */
  t: number
  importWh: number
  exportWh: number
  importVarh: number
  exportVarh: number
  /** net Wh and varh since the last reading, for its averages */
  intervalWh: number
  intervalVarh: number
}

export type Reading = Verified<'meter.reading'>

export class SigningMeter {
  private readonly st: MeterState

  /** Resumes a meter from its snapshot (see `commission` for a new one). */
  constructor (private readonly keys: KeyPair, state: MeterState, private readonly grid = new GridConditions()) {
    this.st = { ...state }
  }

  /**
   * A new meter with zero registers, started at the interval boundary at or before `now`. Its
   * opening reading (seq 0) records those zero registers; the averages it carries are zero because
   * nothing was measured before it.
   */
  static commission (keys: KeyPair, intervalMs: number, now: number, grid?: GridConditions): { meter: SigningMeter, reading: Reading } {
    if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000) throw new Error(`meter interval must be an integer 100..3600000 ms, got ${intervalMs}`)
    const t = Math.floor(now / intervalMs) * intervalMs
    const meter = new SigningMeter(keys, { intervalMs, seq: 0, t, importWh: 0, exportWh: 0, importVarh: 0, exportVarh: 0, intervalWh: 0, intervalVarh: 0 }, grid)
    return { meter, reading: meter.sign() }
  }

  get id (): string { return this.keys.id }
  get t (): number { return this.st.t }
  get intervalMs (): number { return this.st.intervalMs }

  snapshot (): MeterState { return { ...this.st } }

  /**
   * Integrates constant `pccW` / `pccVar` (net import positive) over the next `dtMs`. Returns the
   * signed reading when the step ends on an interval boundary. A step may not cross a boundary.
   */
  integrate (pccW: number, pccVar: number, dtMs: number): Reading | undefined {
    const st = this.st
    const next = st.t + dtMs
    const boundary = (Math.floor(st.t / st.intervalMs) + 1) * st.intervalMs
    if (!(dtMs > 0) || next > boundary) throw new Error(`meter step ${st.t}+${dtMs} ms crosses the interval boundary ${boundary}`)
    const wh = pccW * dtMs / MS_PER_H
    const varh = pccVar * dtMs / MS_PER_H
    if (wh >= 0) st.importWh += wh
    else st.exportWh -= wh
    if (varh >= 0) st.importVarh += varh
    else st.exportVarh -= varh
    st.intervalWh += wh
    st.intervalVarh += varh
    st.t = next
    return next === boundary ? this.sign() : undefined
  }

  private sign (): Reading {
    const st = this.st
    const body: ReadingBody = {
      meter: this.keys.id,
      seq: st.seq,
      t: st.t,
      intervalMs: st.intervalMs,
      importWh: Math.floor(st.importWh),
      exportWh: Math.floor(st.exportWh),
      importVarh: Math.floor(st.importVarh),
      exportVarh: Math.floor(st.exportVarh),
      avgW: Math.round(st.intervalWh * MS_PER_H / st.intervalMs),
      avgVar: Math.round(st.intervalVarh * MS_PER_H / st.intervalMs),
      ...this.grid.at(st.t)
    }
    st.seq++
    st.intervalWh = 0
    st.intervalVarh = 0
    return signRecord('meter.reading', body, this.keys)
  }
}
