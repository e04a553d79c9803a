// The volt-var curve the building's inverter follows for voltage support, IEEE 1547-2018
// Category B style: (0.92 pu, +capacity), (0.99, 0), (1.01, 0), (1.08, −capacity), linear between,
// flat outside. Positive = the building supplies var. Integer in, integer out, so the controller
// and every settlement of `pairgrid/volt-var/1` compute the same value.
import { floorDiv } from '../market/registers.js'

/** Curve points: per-unit x 1000 → share of capacity, per mille. */
export const VOLT_VAR_CURVE = [[920, 1000], [990, 0], [1010, 0], [1080, -1000]] as const

/** Reactive power to supply (var) at a voltage (per-unit x 1000): the floor of the linear curve. */
export function voltVarSetpoint (voltagePu1000: number, capacityVar: number): number {
  const pts = VOLT_VAR_CURVE
  let shareMillionths: bigint
  if (voltagePu1000 <= pts[0][0]) shareMillionths = BigInt(pts[0][1]) * 1000n
  else if (voltagePu1000 >= pts[3][0]) shareMillionths = BigInt(pts[3][1]) * 1000n
  else {
    let i = 0
    while (voltagePu1000 > pts[i + 1]![0]) i++
    const [v0, q0] = pts[i]!
    const [v1, q1] = pts[i + 1]!
    shareMillionths = BigInt(q0) * 1000n + floorDiv(BigInt(q1 - q0) * 1000n * BigInt(voltagePu1000 - v0), BigInt(v1 - v0))
  }
  return Number(floorDiv(shareMillionths * BigInt(capacityVar), 1_000_000n))
}
