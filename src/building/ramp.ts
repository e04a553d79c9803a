// A quantity that moves toward its target at a bounded rate (inverter output, shed load): the
// exact average over a step and its instantaneous value within it, for response measurements.
export interface RampStep {
  /** average over the step */
  avg: number
  /** value at the step's end */
  end: number
  /** value `offsetMs` into the step */
  at: (offsetMs: number) => number
  /** value it settles at once the ramp is over */
  settled: number
}

export function ramp (from: number, target: number, ratePerMs: number, dtMs: number): RampStep {
  const diff = target - from
  const reachMs = diff === 0 ? 0 : ratePerMs > 0 ? Math.abs(diff) / ratePerMs : Infinity
  const dir = Math.sign(diff)
  const at = (o: number): number => o >= reachMs ? target : from + dir * ratePerMs * Math.max(0, o)
  if (reachMs >= dtMs) {
    const end = at(dtMs)
    return { avg: (from + end) / 2, end, at, settled: target }
  }
  return { avg: ((from + target) / 2 * reachMs + target * (dtMs - reachMs)) / dtMs, end: target, at, settled: target }
}

/** A ramp that has already arrived: a constant over the step. */
export const steady = (v: number): RampStep => ({ avg: v, end: v, at: () => v, settled: v })
