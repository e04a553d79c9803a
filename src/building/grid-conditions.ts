// SIMULATION: synthetic conditions of the electric power system at the point of common coupling,
// a pure function of simulated time and a seed. Not measured and not coupled to the building:
// voltage is 1.0 p.u. with a daily ±2% swing (lowest in the afternoon, as a loaded feeder sags)
// plus a ±0.5% wander; frequency is 60 Hz with a ±30 mHz wander; ROCOF is its exact derivative.
// The wanders are sums of sinusoids with seeded phases and periods: smooth, deterministic, and
// the same on every node that uses the same seed.

const DAY_MS = 86_400_000
const TWO_PI = 2 * Math.PI

interface Wave { amp: number, periodMs: number, phase: number }

/** mulberry32: a small seeded PRNG, enough for phases and period jitter. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function waves (rand: () => number, total: number, periodsMs: number[]): Wave[] {
  return periodsMs.map(p => ({ amp: total / periodsMs.length, periodMs: p * (0.8 + 0.4 * rand()), phase: TWO_PI * rand() }))
}

const value = (ws: Wave[], t: number): number => ws.reduce((s, w) => s + w.amp * Math.sin(TWO_PI * t / w.periodMs + w.phase), 0)
const slope = (ws: Wave[], t: number): number => ws.reduce((s, w) => s + w.amp * (TWO_PI / w.periodMs) * Math.cos(TWO_PI * t / w.periodMs + w.phase), 0)

export interface PccConditions {
  /** per-unit x 1000 */
  voltagePu: number
  frequencyMHz: number
  rocofMHzPerS: number
}

export class GridConditions {
  private readonly voltageWander: Wave[]
  private readonly frequencyWander: Wave[]

  constructor (readonly seed = 1) {
    const rand = prng(seed)
    this.voltageWander = waves(rand, 0.005, [7 * 60_000, 23 * 60_000, 61 * 60_000])
    this.frequencyWander = waves(rand, 0.030, [40_000, 3 * 60_000, 11 * 60_000])
  }

  voltagePu (t: number): number {
    return 1 + 0.02 * Math.cos(TWO_PI * (t - 4 * 3_600_000) / DAY_MS) + value(this.voltageWander, t)
  }

  frequencyHz (t: number): number { return 60 + value(this.frequencyWander, t) }

  /** Hz per ms, the exact derivative of frequencyHz. */
  private rocofHzPerMs (t: number): number { return slope(this.frequencyWander, t) }

  /** The integers a meter reading carries. */
  at (t: number): PccConditions {
    return {
      voltagePu: Math.round(this.voltagePu(t) * 1000),
      frequencyMHz: Math.round(this.frequencyHz(t) * 1000),
      rocofMHzPerS: Math.round(this.rocofHzPerMs(t) * 1000 * 1000)
    }
  }
}
