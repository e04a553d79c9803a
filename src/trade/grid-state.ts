// Grid-connect state at a DER's point of common coupling, derived from a signed meter reading's
// EPS voltage, frequency and ROCOF by the IEEE 1547-2017 bands (60 Hz systems), rule
// `pairgrid/grid-state/1` (protocols/trade.md §3). Never stated by hand: every payload carries the
// state this function gives for the producer's readings of the block.
import type { GridConnectState } from '../records/trade-schemas.js'

export const GRID_STATE_RULE = 'pairgrid/grid-state/1'

export interface EpsSample { voltagePu: number, frequencyMHz: number, rocofMHzPerS: number }

/** Continuous-operation bands: 0.90–1.10 p.u. and 58.8–61.2 Hz. */
const NORMAL = { vMin: 900, vMax: 1100, fMin: 58_800, fMax: 61_200 }
/**
 * The ride-through envelope's outer edges: beyond them the DER must cease to energize or trip
 * (0.50 / 1.20 p.u., 56.5 / 62.0 Hz, ROCOF above Category III's 3 Hz/s) — the PCC no longer reads
 * an area EPS the DER may stay parallel with, so the local system is islanded.
 */
const ENVELOPE = { vMin: 500, vMax: 1200, fMin: 56_500, fMax: 62_000, rocof: 3_000 }

export function gridConnectState (s: EpsSample): GridConnectState {
  if (s.voltagePu < ENVELOPE.vMin || s.voltagePu > ENVELOPE.vMax || s.frequencyMHz < ENVELOPE.fMin || s.frequencyMHz > ENVELOPE.fMax || Math.abs(s.rocofMHzPerS) > ENVELOPE.rocof) return 'islanded'
  if (s.voltagePu < NORMAL.vMin || s.voltagePu > NORMAL.vMax || s.frequencyMHz < NORMAL.fMin || s.frequencyMHz > NORMAL.fMax) return 'ride-through'
  return 'parallel'
}

export interface BlockState {
  state: GridConnectState
  rule: string
  readings: { parallel: number, rideThrough: number, islanded: number }
}

/** A block's state is the most severe state of any of its readings: islanded, then ride-through. */
export function blockGridState (samples: readonly EpsSample[]): BlockState {
  const readings = { parallel: 0, rideThrough: 0, islanded: 0 }
  for (const s of samples) {
    const state = gridConnectState(s)
    if (state === 'parallel') readings.parallel++
    else if (state === 'ride-through') readings.rideThrough++
    else readings.islanded++
  }
  const state = readings.islanded > 0 ? 'islanded' : readings.rideThrough > 0 ? 'ride-through' : 'parallel'
  return { state, rule: GRID_STATE_RULE, readings }
}
