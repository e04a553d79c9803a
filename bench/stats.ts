// Percentiles and rates for benchmark samples. Samples are numbers in one unit (usually ms).

export interface Summary {
  n: number
  min: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentile (p in 0..100) of already sorted samples. */
export function percentileSorted (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export function percentile (samples: readonly number[], p: number): number {
  return percentileSorted([...samples].sort((a, b) => a - b), p)
}

export function summarize (samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  const n = sorted.length
  const sum = sorted.reduce((s, x) => s + x, 0)
  return {
    n,
    min: sorted[0] ?? Number.NaN,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: sorted[n - 1] ?? Number.NaN,
    mean: n === 0 ? Number.NaN : sum / n
  }
}

/** Rounds to `digits` significant decimals for display and JSON (keeps integers integral). */
export function round (x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** High-resolution wall clock in ms (monotonic). */
export const nowMs = (): number => performance.now()

/** Times `fn` once per sample and returns per-call durations in µs. */
export function timeEach (count: number, fn: (i: number) => void): number[] {
  const out = new Array<number>(count)
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint()
    fn(i)
    out[i] = Number(process.hrtime.bigint() - t0) / 1000
  }
  return out
}

/** Runs `fn` `count` times back to back and returns operations per second. */
export function throughput (count: number, fn: (i: number) => void): number {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < count; i++) fn(i)
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  return count / s
}
