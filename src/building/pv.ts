// SIMULATION of the building's PV array: a clear-sky bell, sin(π x) from 06:00 to 18:00 UTC
// peaking at ratedW at 12:00, the same every day (no clouds, seasons or latitude), behind its own
// inverter at unity power factor. It reduces the building's net load.
import type { PvSpec } from './spec.js'
import { dailyBell } from './time-of-day.js'

const H = 3_600_000

export function pvW (spec: PvSpec | undefined, t: number): number {
  return spec === undefined ? 0 : spec.ratedW * dailyBell(t, 6 * H, 18 * H)
}
