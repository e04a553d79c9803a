// SIMULATION of the building behind its point of common coupling: the rest of its own load (a
// daily profile), its HVAC units and EV chargers, its PV, and its battery racks behind one shared
// inverter. Stated limits: every load consumes at a constant 0.98 lagging power factor (PV and the
// racks' active power at unity); no losses between the elements and the PCC beyond the racks'
// efficiencies; the controller (controller.ts) decides what each element does.
import { Battery, type BatteryState } from './battery.js'
import { EvCharger, type EvState } from './ev-charger.js'
import { Hvac, type HvacState } from './hvac.js'
import { Inverter, type InverterState } from './inverter.js'
import { pvW } from './pv.js'
import type { BuildingSpec } from './spec.js'

export const LOAD_VAR_PER_W = Math.tan(Math.acos(0.98))

export interface PlantState {
  racks: Record<string, BatteryState>
  inverter: InverterState
  hvac: Record<string, HvacState>
  ev: Record<string, EvState>
}

export class Plant {
  readonly racks: Battery[]
  readonly inverter: Inverter
  readonly hvac: Hvac[]
  readonly ev: EvCharger[]

  /**
   * `restLoadW` is the rest of the own load (the profile, or a forecast of it); elements missing
   * from `state` start from the spec (initial SoC, nothing curtailed or owed).
   */
  constructor (readonly spec: BuildingSpec, readonly restLoadW: (t: number) => number, state?: Partial<PlantState>) {
    this.racks = spec.racks.map(r => new Battery(r, state?.racks?.[r.id]))
    this.inverter = new Inverter(spec.inverter, state?.inverter)
    this.hvac = (spec.hvac ?? []).map(h => new Hvac(h, state?.hvac?.[h.id]))
    this.ev = (spec.ev ?? []).map(e => new EvCharger(e, state?.ev?.[e.id]))
  }

  snapshot (): PlantState {
    return {
      racks: Object.fromEntries(this.racks.map(r => [r.id, r.snapshot()])),
      inverter: this.inverter.snapshot(),
      hvac: Object.fromEntries(this.hvac.map(h => [h.id, h.snapshot()])),
      ev: Object.fromEntries(this.ev.map(e => [e.id, e.snapshot()]))
    }
  }

  /** Average rest-of-building load over [t, t + dtMs): the midpoint is exact on a linear segment. */
  restW (t: number, dtMs: number): number { return this.restLoadW(t + dtMs / 2) }

  pvW (t: number, dtMs: number): number { return pvW(this.spec.pv, t + dtMs / 2) }

  /** Forecast of the own net load at `t` with nothing curtailed: rest + HVAC + EV − PV. */
  naturalNetW (t: number): number {
    return this.restLoadW(t) + this.hvac.reduce((s, h) => s + h.naturalW(t), 0) + this.ev.reduce((s, e) => s + e.naturalW(t), 0) - pvW(this.spec.pv, t)
  }

  /** Stored energy above the floors, all racks. */
  storedAboveFloorWh (): number { return this.racks.reduce((s, r) => s + r.socWh - r.floorWh, 0) }
}
