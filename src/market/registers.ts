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
