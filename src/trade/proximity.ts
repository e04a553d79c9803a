// Proximity between producer and load, and the loss estimate it gives: loss model
// `pairgrid/loss/1` (protocols/trade.md §4). Everything is integer arithmetic, so both parties
// and an offline verifier compute the same distance and loss.
import type { Location, Proximity } from '../records/trade-schemas.js'
import { isqrt } from '../market/registers.js'

export const LOSS_MODEL = 'pairgrid/loss/1'

/** Mean metres per degree of latitude (Earth radius 6,371 km). */
const M_PER_DEG = 111_195n
/** round(1000 · cos(d°)) for whole degrees 0..90: the east-west scale at a latitude. */
const COS_PM = Array.from({ length: 91 }, (_, d) => BigInt(Math.round(1000 * Math.cos(d * Math.PI / 180))))

const abs = (n: bigint): bigint => n < 0n ? -n : n

/** Equirectangular distance in whole metres, scaled east-west by the cosine of the mean latitude's whole degree. */
export function distanceM (a: Location, b: Location): number {
  const dLat = abs(BigInt(a.latE6) - BigInt(b.latE6))
  let dLon = abs(BigInt(a.lonE6) - BigInt(b.lonE6))
  if (dLon > 180_000_000n) dLon = 360_000_000n - dLon
  const meanLatDeg = Number(abs(BigInt(a.latE6) + BigInt(b.latE6)) / 2_000_000n)
  const dy = dLat * M_PER_DEG / 1_000_000n
  const dx = dLon * M_PER_DEG * COS_PM[meanLatDeg]! / 1_000_000_000n
  return Number(isqrt(dx * dx + dy * dy))
}

/** Same PCC node: 0.5%. */
const SAME_NODE_PM = 5
/** Distribution line losses: 0.8% per km (rounded up), at most 6% along one feeder. */
const LINE_PM_PER_KM = 8
const FEEDER_CAP_PM = 60
/** Crossing to another feeder passes two distribution transformers, 1% each; at most 10% in all. */
const TRANSFORMERS_PM = 20
const TOTAL_CAP_PM = 100

export function lossEstimate (source: Location, load: Location): Omit<Proximity, 'efficiencyPm'> {
  const d = distanceM(source, load)
  if (source.feeder === load.feeder && source.node === load.node) return { model: LOSS_MODEL, relation: 'same-node', distanceM: d, lossPm: SAME_NODE_PM }
  const line = Math.min(FEEDER_CAP_PM, SAME_NODE_PM + Math.ceil(d * LINE_PM_PER_KM / 1000))
  if (source.feeder === load.feeder) return { model: LOSS_MODEL, relation: 'same-feeder', distanceM: d, lossPm: line }
  return { model: LOSS_MODEL, relation: 'other-feeder', distanceM: d, lossPm: Math.min(TOTAL_CAP_PM, line + TRANSFORMERS_PM) }
}

/** Energy that arrives at the load of `wh` sent: the loss is rounded up, so the buyer never pays for energy lost. */
export function afterLoss (wh: bigint, lossPm: number): bigint {
  return wh - (wh * BigInt(lossPm) + 999n) / 1000n
}
