// SIMULATION of an HVAC unit as part of the building's own load. Stated limits: its draw is
// ratedW x a daily duty (30% at night, rising to 85% at 14:00 UTC, the same every day; no weather,
// no thermal state); up to flexW of it can be shed, ramping over HVAC_SHED_MS (compressor
// unloading); one curtailment lasts at most maxCurtailMs in total, after which the unit restores;
// once released (or out of budget) it draws back reboundPm per mille of the curtailed energy, at
// up to flexW above its duty (never above ratedW), and cannot be curtailed again until that energy
// is paid back.
import { ramp, type RampStep } from './ramp.js'
import type { HvacSpec } from './spec.js'
import { dailyBell } from './time-of-day.js'

export const HVAC_SHED_MS = 20_000
const MS_PER_H = 3_600_000
const H = 3_600_000

export interface HvacState {
  /** W shed at the end of the last step */
  shedW: number
  /** ms curtailed since the unit last fully recovered */
  curtailedMs: number
  /** rebound energy still owed */
  debtWh: number
  /** a curtailment is under way: an order still holds the unit, so it does not pay back yet */
  engaged: boolean
}

export class Hvac {
  private st: HvacState

  constructor (readonly spec: HvacSpec, state?: HvacState) {
    this.st = state === undefined ? { shedW: 0, curtailedMs: 0, debtWh: 0, engaged: false } : { ...state }
  }

  get id (): string { return this.spec.id }

  snapshot (): HvacState { return { ...this.st } }

  /** Its draw with no curtailment and nothing owed. */
  naturalW (t: number): number { return this.spec.ratedW * (0.3 + 0.55 * dailyBell(t, 7 * H, 21 * H)) }

  /** W it could shed over the next `dtMs` (0 while paying back or once the curtailment budget is spent). */
  flexW (t: number, dtMs: number): number {
    const s = this.spec
    const payingBack = this.st.debtWh > 0 && !this.st.engaged
    if (payingBack || this.st.curtailedMs + dtMs > s.maxCurtailMs) return 0
    return Math.min(s.flexW, this.naturalW(t + dtMs / 2))
  }

  /**
   * Steps the unit with `shedW` asked of it; `held` while an order still names it (a moment with
   * nothing to shed does not end the curtailment). Returns its draw.
   */
  step (t: number, dtMs: number, shedW: number, held = shedW > 0): RampStep {
    const s = this.spec
    const st = this.st
    const natural = this.naturalW(t + dtMs / 2)
    const cmd = Math.min(Math.max(0, shedW), this.flexW(t, dtMs))
    const r = ramp(Math.min(st.shedW, natural), cmd, s.flexW / HVAC_SHED_MS, dtMs)
    st.shedW = r.end
    let extra = 0
    if (r.avg > 0) {
      st.curtailedMs += dtMs
      st.debtWh += r.avg * dtMs / MS_PER_H * s.reboundPm / 1000
      st.engaged = true
    } else if (!held || st.curtailedMs + dtMs > s.maxCurtailMs) {
      // Released, or out of budget: the space must recover now.
      st.engaged = false
    }
    if (!st.engaged && st.debtWh > 0) {
      extra = Math.min(s.flexW, Math.max(0, s.ratedW - natural), st.debtWh * MS_PER_H / dtMs)
      st.debtWh = Math.max(0, st.debtWh - extra * dtMs / MS_PER_H)
    }
    if (!st.engaged && st.debtWh === 0) st.curtailedMs = 0
    const avg = natural - r.avg + extra
    return { avg, end: natural - r.end + extra, at: o => natural - r.at(o) + extra, settled: natural - r.settled + extra }
  }
}
