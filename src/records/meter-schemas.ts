import { Type, type Static } from '@sinclair/typebox'
import { PartyId, Time } from './common-schemas.js'

const Register = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
const Signed = (max: number) => Type.Integer({ minimum: -max, maximum: max })

// One signed reading of the meter at the point of common coupling, closing the interval
// (t - intervalMs, t]. Registers are cumulative, so any span's energy is a difference of two
// readings and rounding never accumulates.
export const ReadingBody = Type.Object({
  meter: PartyId,
  seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  t: Time,
  intervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
  importWh: Register,
  exportWh: Register,
  importVarh: Register,
  exportVarh: Register,
  avgW: Signed(1_000_000_000),
  avgVar: Signed(1_000_000_000),
  voltagePu: Type.Integer({ minimum: 0, maximum: 2000, description: 'EPS voltage at the PCC, per-unit x 1000' }),
  frequencyMHz: Type.Integer({ minimum: 40_000, maximum: 70_000 }),
  rocofMHzPerS: Signed(100_000)
}, { additionalProperties: false })
export type ReadingBody = Static<typeof ReadingBody>
