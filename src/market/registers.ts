// Energy between two signed readings is the difference of their cumulative registers.
import type { ReadingBody } from '../records/meter-schemas.js'

/** Net energy imported at the PCC between readings a and b (Wh; negative when exporting). */
export function netImportWh (a: ReadingBody, b: ReadingBody): bigint {
  return (BigInt(b.importWh) - BigInt(a.importWh)) - (BigInt(b.exportWh) - BigInt(a.exportWh))
}

/** Floor division of integers (toward negative infinity), as protocols/ specifies. */
export function floorDiv (n: bigint, d: bigint): bigint {
  const q = n / d
  return (n % d !== 0n && (n < 0n) !== (d < 0n)) ? q - 1n : q
}

/** Average power over a span: floor(Wh * 3_600_000 / durationMs). */
export function averageW (wh: bigint, durationMs: number): bigint {
  return floorDiv(wh * 3_600_000n, BigInt(durationMs))
}

/** Net reactive energy imported at the PCC between readings a and b (varh; negative when exporting). */
export function netImportVarh (a: ReadingBody, b: ReadingBody): bigint {
  return (BigInt(b.importVarh) - BigInt(a.importVarh)) - (BigInt(b.exportVarh) - BigInt(a.exportVarh))
}

/** Integer square root (floor) of a non-negative bigint. */
export function isqrt (n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number')
  if (n < 2n) return n
  let x = BigInt(Math.floor(Math.sqrt(Number(n))))
  while (x * x > n) x--
  while ((x + 1n) * (x + 1n) <= n) x++
  return x
}

/** Readings of a window: those closing in (start, end], in order. */
export function windowReadings (readings: readonly ReadingBody[], start: number, end: number): ReadingBody[] {
  return readings.filter(r => r.t > start && r.t <= end)
}

export function clamp (v: bigint, lo: bigint, hi: bigint): bigint {
  return v < lo ? lo : v > hi ? hi : v
}

/** Capacity held over a span, in W·h (or var·h): floor(q * durationMs / 1 h). */
export function capacityHours (q: number, durationMs: number): bigint {
  return (BigInt(q) * BigInt(durationMs)) / 3_600_000n
}
