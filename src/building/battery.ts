// SIMULATION of one battery rack behind the building's shared inverter. Stated limits: an energy
// bucket with constant one-way efficiencies; no self-discharge, no temperature or ageing, no power
// derating near empty or full; its ramp is the inverter's (see inverter.ts). Peak output above the
// continuous rating draws on a budget of `peakDurationMs` at full peak (150 kW on a 100/200 kW
// rack uses it at half rate); the budget refills over PEAK_RECOVERY_MS of output at or below the
// continuous rating.
import type { RackSpec } from './spec.js'

export const PEAK_RECOVERY_MS = 15 * 60_000
const MS_PER_H = 3_600_000

export interface BatteryState { socWh: number, peakUsedMs: number }

export class Battery {
  readonly floorWh: number
  readonly ceilingWh: number
  private soc: number
  private peakUsedMs: number

  constructor (readonly spec: RackSpec, state?: BatteryState) {
    this.floorWh = spec.capacityWh * spec.socFloorPm / 1000
    this.ceilingWh = spec.capacityWh * spec.socCeilingPm / 1000
    this.soc = state?.socWh ?? spec.capacityWh * spec.initialSocPm / 1000
    this.peakUsedMs = state?.peakUsedMs ?? 0
    if (!(this.soc >= this.floorWh && this.soc <= this.ceilingWh)) throw new Error(`rack ${spec.id}: state of charge ${this.soc} Wh is outside ${this.floorWh}..${this.ceilingWh} Wh`)
  }

  get id (): string { return this.spec.id }
  get socWh (): number { return this.soc }

  snapshot (): BatteryState { return { socWh: this.soc, peakUsedMs: this.peakUsedMs } }

  /**
   * Highest average discharge W over the next `dtMs`, and what limits it: the power rating
   * (`peak` false = continuous only, as plans assume) or the energy above the floor.
   */
  dischargeCap (dtMs: number, peak = true): { w: number, by: 'power' | 'energy' } {
    const powerW = peak ? this.powerCapW(dtMs) : this.spec.maxDischargeW
    const energyW = (this.soc - this.floorWh) * this.spec.dischargeEfficiencyPm / 1000 / (dtMs / MS_PER_H)
    return energyW < powerW ? { w: Math.max(0, energyW), by: 'energy' } : { w: powerW, by: 'power' }
  }

  /** Highest average charge W (positive) over the next `dtMs`, and what limits it. */
  chargeCap (dtMs: number): { w: number, by: 'power' | 'energy' } {
    const energyW = (this.ceilingWh - this.soc) / (this.spec.chargeEfficiencyPm / 1000) / (dtMs / MS_PER_H)
    return energyW < this.spec.maxChargeW ? { w: Math.max(0, energyW), by: 'energy' } : { w: this.spec.maxChargeW, by: 'power' }
  }

  /**
   * Runs the rack at `requestedW` (positive = discharge into the building, negative = charge)
   * for `dtMs`, clipped to power and state-of-charge limits. Returns the average W delivered.
   */
  step (requestedW: number, dtMs: number): number {
    if (!Number.isFinite(requestedW)) throw new Error(`rack setpoint must be finite, got ${requestedW}`)
    if (!(dtMs > 0)) throw new Error(`rack step must be positive, got ${dtMs} ms`)
    const s = this.spec
    const hours = dtMs / MS_PER_H
    let w: number
    if (requestedW >= 0) {
      w = Math.min(requestedW, this.dischargeCap(dtMs).w)
      this.trackPeak(w, dtMs)
      this.soc -= w * hours / (s.dischargeEfficiencyPm / 1000)
    } else {
      w = -Math.min(-requestedW, this.chargeCap(dtMs).w)
      this.trackPeak(0, dtMs)
      this.soc -= w * hours * s.chargeEfficiencyPm / 1000
    }
    // Float rounding may overshoot by an ulp; the limits are physical, so hold them exactly.
    this.soc = Math.min(this.ceilingWh, Math.max(this.floorWh, this.soc))
    return w
  }

  /** Highest average discharge W this step can give with the peak budget left. */
  private powerCapW (dtMs: number): number {
    const { maxDischargeW: cont, peakDischargeW: peak, peakDurationMs } = this.spec
    const leftMs = Math.max(0, peakDurationMs - this.peakUsedMs)
    return cont + (peak - cont) * Math.min(dtMs, leftMs) / dtMs
  }

  private trackPeak (w: number, dtMs: number): void {
    const { maxDischargeW: cont, peakDischargeW: peak, peakDurationMs } = this.spec
    if (w > cont && peak > cont) this.peakUsedMs += dtMs * (w - cont) / (peak - cont)
    else this.peakUsedMs = Math.max(0, this.peakUsedMs - dtMs * peakDurationMs / PEAK_RECOVERY_MS)
  }
}
