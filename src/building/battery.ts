// SIMULATION of the building's storage behind its inverter. Stated limits: an energy bucket with
// constant one-way efficiencies; no ramp-rate limit, no self-discharge, no temperature or ageing,
// no power derating near empty or full. Peak output above the continuous rating draws on a
// budget of `peakDurationMs` at full peak (150 kW on a 100/200 kW battery uses it at half
// rate); the budget refills over PEAK_RECOVERY_MS of output at or below the continuous rating.
import type { BatterySpec } from './spec.js'

export const PEAK_RECOVERY_MS = 15 * 60_000
const MS_PER_H = 3_600_000

export interface BatteryState { socWh: number, peakUsedMs: number }

export class Battery {
  readonly floorWh: number
  readonly ceilingWh: number
  private soc: number
  private peakUsedMs: number

  constructor (private readonly spec: BatterySpec, state?: BatteryState) {
    this.floorWh = spec.capacityWh * spec.socFloorPm / 1000
    this.ceilingWh = spec.capacityWh * spec.socCeilingPm / 1000
    this.soc = state?.socWh ?? spec.capacityWh * spec.initialSocPm / 1000
    this.peakUsedMs = state?.peakUsedMs ?? 0
    if (!(this.soc >= this.floorWh && this.soc <= this.ceilingWh)) throw new Error(`battery state of charge ${this.soc} Wh is outside ${this.floorWh}..${this.ceilingWh} Wh`)
  }

  get socWh (): number { return this.soc }

  /** Energy that may be sold: above the floor and the own-load reserve. */
  get availableWh (): number { return Math.max(0, this.soc - this.floorWh - this.spec.reserveWh) }

  snapshot (): BatteryState { return { socWh: this.soc, peakUsedMs: this.peakUsedMs } }

  /**
   * Runs the battery at `requestedW` (positive = discharge into the building, negative = charge)
   * for `dtMs`, clipped to power and state-of-charge limits. Returns the average W delivered.
   */
  step (requestedW: number, dtMs: number): number {
    if (!Number.isFinite(requestedW)) throw new Error(`battery setpoint must be finite, got ${requestedW}`)
    if (!(dtMs > 0)) throw new Error(`battery step must be positive, got ${dtMs} ms`)
    const s = this.spec
    const hours = dtMs / MS_PER_H
    let w: number
    if (requestedW >= 0) {
      const eff = s.dischargeEfficiencyPm / 1000
      w = Math.min(requestedW, this.powerCapW(dtMs), (this.soc - this.floorWh) * eff / hours)
      this.trackPeak(w, dtMs)
      this.soc -= w * hours / eff
    } else {
      const eff = s.chargeEfficiencyPm / 1000
      w = -Math.min(-requestedW, s.maxChargeW, (this.ceilingWh - this.soc) / eff / hours)
      this.trackPeak(0, dtMs)
      this.soc -= w * hours * eff
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
