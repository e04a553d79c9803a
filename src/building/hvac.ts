// SIMULATION of an HVAC unit as part of the building's own load. Stated limits: its draw is
// ratedW x a daily duty (30% at night, rising to 85% at 14:00 UTC, the same every day; no weather,
// no thermal state); up to flexW of it can be shed, ramping over HVAC_SHED_MS (compressor
// unloading). A curtailment starts only when the unit has paid back the last one, lasts while an
// order holds the unit and at most maxCurtailMs, then the unit restores (same ramp) and draws back
// reboundPm per mille of the curtailed energy at up to flexW above its duty, never above ratedW.
// Every such event is timed exactly within a step, so the unit behaves the same whatever the
// step size: a plan in minutes foresees what the runtime's seconds then do.
import { ramp, type RampStep } from './ramp.js'
import type { HvacSpec } from './spec.js'
import { dailyBell } from './time-of-day.js'

export const HVAC_SHED_MS = 20_000
const MS_PER_H = 3_600_000
const H = 3_600_000
/** Energy below which a debt counts as paid (float dust). */
const PAID_WH = 1e-9

export interface HvacState {
  /** W shed at the end of the last step */
  shedW: number
  /** ms of the curtailment under way (or the last one, until it is paid back) */
  curtailedMs: number
  /** rebound energy still owed */
  debtWh: number
  /** a curtailment is under way */
  engaged: boolean
}

/** One stretch of a step with a single thing going on: the shed ramping, or a constant payback. */
interface Phase { from: number, to: number, shed: RampStep, extraW: number }

export class Hvac {
  private st: HvacState

  constructor (readonly spec: HvacSpec, state?: HvacState) {
    this.st = state === undefined ? { shedW: 0, curtailedMs: 0, debtWh: 0, engaged: false } : { ...state }
  }

  get id (): string { return this.spec.id }

  snapshot (): HvacState { return { ...this.st } }

  /** Its draw with no curtailment and nothing owed. */
  naturalW (t: number): number { return this.spec.ratedW * (0.3 + 0.55 * dailyBell(t, 7 * H, 21 * H)) }

  /**
   * W it can shed over the next `dtMs` when it is free to: whether it is (budget, payback) the
   * unit decides within the step, so that what it is asked depends on the orders alone.
   */
  flexW (t: number, dtMs: number): number { return Math.min(this.spec.flexW, this.naturalW(t + dtMs / 2)) }

  /**
   * Steps the unit with `shedW` asked of it while `held` (an order names it: when no order does,
   * the curtailment ends). Returns its draw.
   */
  step (t: number, dtMs: number, shedW: number, held = shedW > 0): RampStep {
    const s = this.spec
    const st = this.st
    const natural = this.naturalW(t + dtMs / 2)
    const target = Math.min(Math.max(0, shedW), s.flexW, natural)
    const rate = s.flexW / HVAC_SHED_MS
    const paybackW = Math.min(s.flexW, Math.max(0, s.ratedW - natural))
    const phases: Phase[] = []
    let o = 0
    // Each pass runs one phase to its end or to the step's; a handful at most per step.
    while (o < dtMs) {
      if (!st.engaged && held && target > 0 && st.shedW === 0 && st.debtWh <= PAID_WH && st.curtailedMs === 0 && s.maxCurtailMs > 0) st.engaged = true
      if (st.engaged && (!held || st.curtailedMs >= s.maxCurtailMs)) st.engaged = false
      let len: number
      let phase: Phase
      if (st.engaged) {
        len = Math.min(dtMs - o, s.maxCurtailMs - st.curtailedMs)
        phase = { from: o, to: o + len, shed: ramp(st.shedW, target, rate, len), extraW: 0 }
        st.curtailedMs += len
      } else if (st.shedW > 0) {
        len = Math.min(dtMs - o, st.shedW / rate)
        phase = { from: o, to: o + len, shed: ramp(st.shedW, 0, rate, len), extraW: 0 }
      } else if (st.debtWh > PAID_WH && paybackW > 0) {
        const owedMs = st.debtWh * MS_PER_H / paybackW
        len = Math.min(dtMs - o, owedMs)
        phase = { from: o, to: o + len, shed: ramp(0, 0, rate, len), extraW: paybackW }
        st.debtWh = len === owedMs ? 0 : st.debtWh - paybackW * len / MS_PER_H
      } else {
        if (st.debtWh <= PAID_WH) Object.assign(st, { debtWh: 0, curtailedMs: 0 })
        // Recovered and asked to shed: the next pass starts a curtailment.
        if (held && target > 0 && st.debtWh === 0 && s.maxCurtailMs > 0) continue
        len = dtMs - o
        phase = { from: o, to: dtMs, shed: ramp(0, 0, rate, len), extraW: 0 }
      }
      st.shedW = phase.shed.end
      st.debtWh += phase.shed.avg * len / MS_PER_H * s.reboundPm / 1000
      phases.push(phase)
      o += len
    }
    const shedAvg = phases.reduce((a, p) => a + p.shed.avg * (p.to - p.from), 0) / dtMs
    const extraAvg = phases.reduce((a, p) => a + p.extraW * (p.to - p.from), 0) / dtMs
    const last = phases.at(-1)!
    const at = (off: number): number => {
      const p = phases.find(x => off < x.to) ?? last
      return natural - p.shed.at(off - p.from) + p.extraW
    }
    const settled = natural - (st.engaged ? target : 0) + (st.engaged || st.debtWh <= PAID_WH ? 0 : paybackW)
    return { avg: natural - shedAvg + extraAvg, end: natural - st.shedW + last.extraW, at, settled }
  }
}
