// Benchmark output: human-readable lines plus one machine-readable JSON line per figure.
// Figures are measurements, never pass/fail: `target` is the goal, `floor` the best this machine
// can do for the same work by the cheapest known path (both in the figure's unit, or null).

export interface BenchResult {
  bench: string
  value: number
  unit: string
  target: number | null
  floor: number | null
  [extra: string]: unknown
}

export interface BenchOptions { quick: boolean }

export type Bench = (opts: BenchOptions) => Promise<BenchResult[]>

/** A human line while a benchmark runs (indented under its header). */
export function say (text: string): void {
  process.stdout.write(`  ${text}\n`)
}

export function header (name: string, what: string): void {
  process.stdout.write(`\n== ${name}: ${what}\n`)
}

function fmt (x: number | null): string {
  if (x === null) return '-'
  if (!Number.isFinite(x)) return String(x)
  const abs = Math.abs(x)
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US')
  if (abs >= 100) return x.toFixed(0)
  if (abs >= 10) return x.toFixed(1)
  return x.toFixed(2)
}

/** Prints the figure for people, then its JSON line (prefixed by nothing, one object per line). */
export function emit (result: BenchResult): void {
  const { bench, value, unit, target, floor } = result
  process.stdout.write(`  -> ${bench}: ${fmt(value)} ${unit}  (target ${fmt(target)}, floor ${fmt(floor)})\n`)
  process.stdout.write(JSON.stringify(result) + '\n')
}

export function result (bench: string, value: number, unit: string, target: number | null, floor: number | null, extra: Record<string, unknown> = {}): BenchResult {
  return { bench, value, unit, target, floor, ...extra }
}
