// SIMULATION parameters of one building: its battery (the coarse grid-commitment surface is a
// single storage element) and the size of its own load. Ranges follow the seed's field figures:
// 50–500 kWh usable, 25–250 kW continuous, peak up to 2x continuous for a short duration.
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

const PerMille = Type.Integer({ minimum: 0, maximum: 1000 })

export const BatterySpec = Type.Object({
  capacityWh: Type.Integer({ minimum: 50_000, maximum: 500_000 }),
  maxChargeW: Type.Integer({ minimum: 25_000, maximum: 250_000 }),
  maxDischargeW: Type.Integer({ minimum: 25_000, maximum: 250_000 }),
  peakDischargeW: Type.Integer({ minimum: 25_000, maximum: 500_000, description: 'maxDischargeW .. 2 x maxDischargeW' }),
  peakDurationMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
  chargeEfficiencyPm: Type.Integer({ minimum: 500, maximum: 1000 }),
  dischargeEfficiencyPm: Type.Integer({ minimum: 500, maximum: 1000 }),
  socFloorPm: PerMille,
  socCeilingPm: PerMille,
  reserveWh: Type.Integer({ minimum: 0, maximum: 500_000, description: 'own-load reserve, never sold' }),
  initialSocPm: PerMille
}, { additionalProperties: false })
export type BatterySpec = Static<typeof BatterySpec>

export const BuildingSpec = Type.Object({
  battery: BatterySpec,
  loadScale: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
  loadProfilePath: Type.Optional(Type.String({ minLength: 1 }))
}, { additionalProperties: false })
export type BuildingSpec = Static<typeof BuildingSpec>

const check = TypeCompiler.Compile(BuildingSpec)

export function defaultBuildingSpec (): BuildingSpec {
  return {
    battery: {
      capacityWh: 200_000,
      maxChargeW: 100_000,
      maxDischargeW: 100_000,
      peakDischargeW: 200_000,
      peakDurationMs: 60_000,
      chargeEfficiencyPm: 950,
      dischargeEfficiencyPm: 950,
      socFloorPm: 100,
      socCeilingPm: 950,
      reserveWh: 20_000,
      initialSocPm: 700
    },
    loadScale: 1
  }
}

/** Cross-field rules the schema cannot say; undefined when the spec is consistent. */
function inconsistency (b: BatterySpec): string | undefined {
  if (b.peakDischargeW < b.maxDischargeW || b.peakDischargeW > 2 * b.maxDischargeW) return `battery.peakDischargeW must be within maxDischargeW..2 x maxDischargeW (${b.maxDischargeW}..${2 * b.maxDischargeW})`
  if (b.socFloorPm >= b.socCeilingPm) return 'battery.socFloorPm must be below battery.socCeilingPm'
  if (b.initialSocPm < b.socFloorPm || b.initialSocPm > b.socCeilingPm) return 'battery.initialSocPm must be within floor..ceiling'
  if (b.reserveWh >= b.capacityWh * (b.socCeilingPm - b.socFloorPm) / 1000) return 'battery.reserveWh must leave sellable energy between floor and ceiling'
  return undefined
}

export function parseBuildingSpec (value: unknown): BuildingSpec {
  if (!check.Check(value)) {
    const first = check.Errors(value).First()
    throw new Error(`building spec: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`)
  }
  const problem = inconsistency(value.battery)
  if (problem !== undefined) throw new Error(`building spec: ${problem}`)
  return value
}
