// A RegD-like regulation signal: fast, bounded to ±1000 per mille and close to energy-neutral,
// made of sinusoids of 40 s to 7 min periods with phases drawn from the commitment id, so each
// transaction gets its own signal. Synthetic: real RegD comes from the grid operator's AGC.
import { createHash } from 'node:crypto'

const COMPONENTS = [
  { periodMs: 40_000, weight: 0.45 },
  { periodMs: 150_000, weight: 0.35 },
  { periodMs: 420_000, weight: 0.2 }
]

export function regulationSetpoint (commitmentId: string, t: number): number {
  const seed = createHash('sha256').update(commitmentId).digest()
  let v = 0
  COMPONENTS.forEach((c, i) => {
    const phase = (seed[i]! / 256) * 2 * Math.PI
    v += c.weight * Math.sin((2 * Math.PI * t) / c.periodMs + phase)
  })
  return Math.max(-1000, Math.min(1000, Math.round(v * 1000)))
}
