// SIMULATION of the building's one power-conversion system (PCS), shared by all racks. Stated
// limits: active output |P| ≤ ratedVA; reactive output |Q| ≤ sqrt(ratedVA² − P²) at the largest
// |P| of the step (the "kvar capability curve": active power has priority); P and Q each move
// toward their setpoint at `rampWPerS` (W/s, var/s), from the moment the setpoint changes, with no
// other delay; no conversion losses beyond the racks' efficiencies; reactive output draws no
// energy from the racks. Its setpoints stop (the output steps to zero) when the node stops.
import { ramp, type RampStep } from './ramp.js'
import type { InverterSpec } from './spec.js'

export interface InverterState {
  /** active output at the end of the last step, positive = discharging into the building */
  pW: number
  /** reactive output at the end of the last step, positive = supplying var */
  qVar: number
  /** racks that carried the last step's active power (a ramp-down tail stays on them) */
  racks: string[]
}

export class Inverter {
  private st: InverterState

  constructor (readonly spec: InverterSpec, state?: InverterState) {
    this.st = state === undefined ? { pW: 0, qVar: 0, racks: [] } : { ...state, racks: [...state.racks] }
  }

  get pW (): number { return this.st.pW }
  get qVar (): number { return this.st.qVar }
  get racks (): readonly string[] { return this.st.racks }

  snapshot (): InverterState { return { ...this.st, racks: [...this.st.racks] } }

  /**
   * Ramps P toward `targetW` within [−chargeCapW, dischargeCapW] (the racks' limits, already
   * bounded by ratedVA). A limit below the present output cuts it at once: the racks' protection
   * does not ramp.
   */
  stepP (targetW: number, dischargeCapW: number, chargeCapW: number, dtMs: number, racks: string[]): RampStep {
    const clip = (w: number): number => Math.min(dischargeCapW, Math.max(-chargeCapW, w))
    const r = ramp(clip(this.st.pW), clip(targetW), this.spec.rampWPerS / 1000, dtMs)
    this.st.pW = r.end
    this.st.racks = racks
    return r
  }

  /** Reactive headroom for a step whose active output moves from `p0` to `p1`. */
  qLimitVar (p0: number, p1: number): number {
    const p = Math.max(Math.abs(p0), Math.abs(p1))
    return Math.sqrt(Math.max(0, this.spec.ratedVA ** 2 - p ** 2))
  }

  stepQ (targetVar: number, limitVar: number, dtMs: number): RampStep {
    const clip = (q: number): number => Math.min(limitVar, Math.max(-limitVar, q))
    const r = ramp(clip(this.st.qVar), clip(targetVar), this.spec.rampWPerS / 1000, dtMs)
    this.st.qVar = r.end
    return r
  }
}
