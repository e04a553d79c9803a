// The meter-before-event baseline several methods share: the average over the span of the
// window's length just before it, from the cumulative registers at the span's two ends.
import type { ReadingBody } from '../records/meter-schemas.js'
import type { Window } from '../records/common-schemas.js'
import { averageW, netImportVarh, netImportWh } from './registers.js'
import { readingAt } from './dr-mbe.js'

export interface MbeBaseline {
  /** Average net import over the baseline span (W or var). */
  baseline: bigint
  /** Net energy over the baseline span (Wh or varh). */
  energy: bigint
  /** The reading closing at the window's start. */
  atStart: ReadingBody
}

export function mbeBaseline (readings: readonly ReadingBody[], window: Window, register: 'active' | 'reactive'): MbeBaseline | undefined {
  const d = window.end - window.start
  const a = readingAt(readings, window.start - d)
  const b = readingAt(readings, window.start)
  if (a === undefined || b === undefined) return undefined
  const energy = register === 'active' ? netImportWh(a, b) : netImportVarh(a, b)
  return { baseline: averageW(energy, d), energy, atStart: b }
}
