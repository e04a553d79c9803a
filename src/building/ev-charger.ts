// SIMULATION of an EV charger as part of the building's own load. Stated limits: every day the
// same sessions arrive and depart at fixed UTC times, each needing needWh; left alone the charger
// draws maxW from arrival until the need is met (no taper, unity power factor as part of the
// load's 0.98); it can be curtailed within the session's slack only — never so far that the need
// could not still be met at maxW before departure — ramping over EV_SHED_MS; energy deferred is
// drawn later in the session (its rebound).
import { ramp, steady, type RampStep } from './ramp.js'
import { sessionSpan, type EvSpec } from './spec.js'
import { timeOfDay } from './time-of-day.js'

export const EV_SHED_MS = 5_000
const MS_PER_H = 3_600_000

export interface EvState {
  /** arrival time of the session the charger is in (or last was in) */
  sessionStart: number | null
  deliveredWh: number
  shedW: number
}

interface Session { start: number, end: number, needWh: number }

export class EvCharger {
  private st: EvState
  private readonly spans: Array<{ arriveMs: number, durationMs: number, needWh: number }>

  constructor (readonly spec: EvSpec, state?: EvState) {
    this.st = state === undefined ? { sessionStart: null, deliveredWh: 0, shedW: 0 } : { ...state }
    this.spans = spec.sessions.map(s => ({ ...sessionSpan(s), needWh: s.needWh }))
  }

  get id (): string { return this.spec.id }

  snapshot (): EvState { return { ...this.st } }

  /** The session in progress at `t`, if any. */
  session (t: number): Session | undefined {
    const tod = timeOfDay(t)
    for (const s of this.spans) {
      const into = timeOfDay(tod - s.arriveMs)
      if (into < s.durationMs) return { start: t - into, end: t - into + s.durationMs, needWh: s.needWh }
    }
    return undefined
  }

  /** Unmanaged draw forecast from the timetable alone (charging at maxW from arrival). */
  naturalW (t: number): number {
    const s = this.session(t)
    return s !== undefined && this.spec.maxW * (t - s.start) / MS_PER_H < s.needWh ? this.spec.maxW : 0
  }

  /** Its draw over the next `dtMs` if left alone. */
  unmanagedW (t: number, dtMs: number): number { return this.bounds(t, dtMs).unmanagedW }

  /**
   * Flexible W over the next `dtMs`: the unmanaged draw less the least that keeps the need
   * reachable. `whole` (plans) counts it only if the charger would draw maxW for the whole step:
   * a session ending within a coarse step is not flexible for all of it.
   */
  flexW (t: number, dtMs: number, whole = false): number {
    const b = this.bounds(t, dtMs)
    return whole && b.unmanagedW < this.spec.maxW ? 0 : b.unmanagedW - b.minW
  }

  step (t: number, dtMs: number, shedW: number): RampStep {
    const st = this.st
    const b = this.bounds(t, dtMs)
    if (b.session === undefined) {
      st.shedW = 0
      return steady(0)
    }
    if (st.sessionStart !== b.session.start) Object.assign(st, { sessionStart: b.session.start, deliveredWh: 0 })
    const room = b.unmanagedW - b.minW
    const r = ramp(Math.min(st.shedW, room), Math.min(Math.max(0, shedW), room), this.spec.maxW / EV_SHED_MS, dtMs)
    st.shedW = r.end
    st.deliveredWh += (b.unmanagedW - r.avg) * dtMs / MS_PER_H
    return { avg: b.unmanagedW - r.avg, end: b.unmanagedW - r.end, at: o => b.unmanagedW - r.at(o), settled: b.unmanagedW - r.settled }
  }

  private bounds (t: number, dtMs: number): { session?: Session, unmanagedW: number, minW: number } {
    const session = this.session(t)
    if (session === undefined) return { unmanagedW: 0, minW: 0 }
    const delivered = this.st.sessionStart === session.start ? this.st.deliveredWh : 0
    const remainingWh = Math.max(0, session.needWh - delivered)
    const unmanagedW = Math.min(this.spec.maxW, remainingWh * MS_PER_H / dtMs)
    const laterWh = this.spec.maxW * Math.max(0, session.end - t - dtMs) / MS_PER_H
    const minW = Math.min(unmanagedW, Math.max(0, (remainingWh - laterWh) * MS_PER_H / dtMs))
    return { session, unmanagedW, minW }
  }
}
