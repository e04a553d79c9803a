// SIMULATION of the building behind its point of common coupling: its own load (a daily profile,
// not curtailable here) and its battery. Reactive power is the load's alone, at a constant 0.98
// lagging power factor; the battery inverter runs at unity power factor. No losses between the
// battery and the PCC beyond the battery's own efficiencies.
import type { Battery } from './battery.js'
import type { LoadProfile } from './load-profile.js'

const LOAD_VAR_PER_W = Math.tan(Math.acos(0.98))

export interface PlantStep {
  loadW: number
  /** positive = discharging into the building */
  batteryW: number
  /** net import at the PCC: load - battery */
  pccW: number
  /** inductive (consumed) var positive */
  pccVar: number
}

export class Plant {
  constructor (readonly load: LoadProfile, readonly battery: Battery) {}

  /** Average load over [t, t + dtMs): the midpoint is exact for a linear profile segment. */
  loadW (t: number, dtMs: number): number { return this.load.powerW(t + dtMs / 2) }

  step (t: number, dtMs: number, batterySetpointW: number): PlantStep {
    const loadW = this.loadW(t, dtMs)
    const batteryW = this.battery.step(batterySetpointW, dtMs)
    return { loadW, batteryW, pccW: loadW - batteryW, pccVar: loadW * LOAD_VAR_PER_W }
  }
}
