// SIMULATION parameters of one building (spec v2): its battery racks behind one shared inverter
// (PCS), its own-load reserve, the flexible and generating elements of its own load (HVAC units,
// EV chargers, PV) and the size of the rest of its load (a daily profile). Building totals follow
// the seed's field figures: 50–500 kWh usable (the racks' capacityWh is their usable energy),
// 25–250 kW continuous, peak up to 2x continuous for a short duration.
// `surface` is the grid-commitment surface the building offers: 'coarse' commits the building as
// one element; 'fine' commits named elements (partial-building dispatch).
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { DAY_MS, parseTimeOfDay } from './time-of-day.js'

const PerMille = Type.Integer({ minimum: 0, maximum: 1000 })
/** Same shape as a commitment's element names. */
const ElementId = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' })
const TimeOfDay = Type.String({ pattern: '^\\d{2}:\\d{2}$', description: 'HH:MM, UTC' })

/** The element name of a coarse commitment: the whole building. */
export const WHOLE_BUILDING = 'building'

export const RackSpec = Type.Object({
  id: ElementId,
  capacityWh: Type.Integer({ minimum: 5_000, maximum: 500_000 }),
  maxChargeW: Type.Integer({ minimum: 1_000, maximum: 250_000 }),
  maxDischargeW: Type.Integer({ minimum: 1_000, maximum: 250_000 }),
  peakDischargeW: Type.Integer({ minimum: 1_000, maximum: 500_000, description: 'maxDischargeW .. 2 x maxDischargeW' }),
  peakDurationMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
  chargeEfficiencyPm: Type.Integer({ minimum: 500, maximum: 1000 }),
  dischargeEfficiencyPm: Type.Integer({ minimum: 500, maximum: 1000 }),
  socFloorPm: PerMille,
  socCeilingPm: PerMille,
  initialSocPm: PerMille
}, { additionalProperties: false })
export type RackSpec = Static<typeof RackSpec>

export const InverterSpec = Type.Object({
  id: ElementId,
  ratedVA: Type.Integer({ minimum: 10_000, maximum: 1_000_000 }),
  rampWPerS: Type.Integer({ minimum: 1_000, maximum: 10_000_000, description: 'ramp of active (W/s) and reactive (var/s) output' })
}, { additionalProperties: false })
export type InverterSpec = Static<typeof InverterSpec>

export const HvacSpec = Type.Object({
  id: ElementId,
  ratedW: Type.Integer({ minimum: 1_000, maximum: 1_000_000 }),
  flexW: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'curtailable part of its draw' }),
  maxCurtailMs: Type.Integer({ minimum: 0, maximum: 4 * 3_600_000 }),
  reboundPm: Type.Integer({ minimum: 0, maximum: 2000, description: 'energy paid back after a curtailment, per mille of the energy curtailed' })
}, { additionalProperties: false })
export type HvacSpec = Static<typeof HvacSpec>

export const EvSession = Type.Object({
  arriveTod: TimeOfDay,
  departTod: TimeOfDay,
  needWh: Type.Integer({ minimum: 0, maximum: 1_000_000 })
}, { additionalProperties: false })
export type EvSession = Static<typeof EvSession>

export const EvSpec = Type.Object({
  id: ElementId,
  maxW: Type.Integer({ minimum: 1_000, maximum: 350_000 }),
  sessions: Type.Array(EvSession, { maxItems: 8 })
}, { additionalProperties: false })
export type EvSpec = Static<typeof EvSpec>

export const PvSpec = Type.Object({
  id: ElementId,
  ratedW: Type.Integer({ minimum: 1_000, maximum: 1_000_000 })
}, { additionalProperties: false })
export type PvSpec = Static<typeof PvSpec>

export const BuildingSpec = Type.Object({
  surface: Type.Union([Type.Literal('coarse'), Type.Literal('fine')]),
  racks: Type.Array(RackSpec, { minItems: 1, maxItems: 16 }),
  reserveWh: Type.Integer({ minimum: 0, maximum: 500_000, description: 'building-wide own-load reserve, never sold' }),
  inverter: InverterSpec,
  hvac: Type.Optional(Type.Array(HvacSpec, { maxItems: 16 })),
  ev: Type.Optional(Type.Array(EvSpec, { maxItems: 32 })),
  pv: Type.Optional(PvSpec),
  loadScale: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
  loadProfilePath: Type.Optional(Type.String({ minLength: 1 }))
}, { additionalProperties: false })
export type BuildingSpec = Static<typeof BuildingSpec>

const check = TypeCompiler.Compile(BuildingSpec)

const rack = (id: string, capacityWh: number, continuousW: number): RackSpec => ({
  id,
  capacityWh,
  maxChargeW: continuousW,
  maxDischargeW: continuousW,
  peakDischargeW: 2 * continuousW,
  peakDurationMs: 60_000,
  chargeEfficiencyPm: 950,
  dischargeEfficiencyPm: 950,
  socFloorPm: 100,
  socCeilingPm: 950,
  initialSocPm: 700
})

/** A coarse building: 2 racks of 100 kWh / 50 kW behind a 120 kVA inverter, no HVAC, EV or PV. */
export function defaultBuildingSpec (): BuildingSpec {
  return {
    surface: 'coarse',
    racks: [rack('rack-1', 100_000, 50_000), rack('rack-2', 100_000, 50_000)],
    reserveWh: 20_000,
    inverter: { id: 'pcs-1', ratedVA: 120_000, rampWPerS: 50_000 },
    loadScale: 1
  }
}

/** A fine-grained building: 3 racks, an HVAC with 30 kW flexible, 2 EV chargers and 60 kW of PV. */
export function fineBuildingSpec (): BuildingSpec {
  return {
    surface: 'fine',
    racks: [rack('rack-a', 80_000, 40_000), rack('rack-b', 80_000, 40_000), rack('rack-c', 80_000, 40_000)],
    reserveWh: 24_000,
    inverter: { id: 'pcs-1', ratedVA: 150_000, rampWPerS: 50_000 },
    hvac: [{ id: 'hvac-1', ratedW: 60_000, flexW: 30_000, maxCurtailMs: 30 * 60_000, reboundPm: 600 }],
    ev: [
      { id: 'ev-1', maxW: 11_000, sessions: [{ arriveTod: '13:00', departTod: '19:00', needWh: 30_000 }] },
      { id: 'ev-2', maxW: 22_000, sessions: [{ arriveTod: '08:00', departTod: '12:00', needWh: 40_000 }, { arriveTod: '12:30', departTod: '18:00', needWh: 50_000 }] }
    ],
    pv: { id: 'pv-1', ratedW: 60_000 },
    loadScale: 0.8
  }
}

/** A small coarse building: 1 rack of 60 kWh / 30 kW. */
export function smallBuildingSpec (): BuildingSpec {
  return {
    surface: 'coarse',
    racks: [rack('rack-1', 60_000, 30_000)],
    reserveWh: 6_000,
    inverter: { id: 'pcs-1', ratedVA: 40_000, rampWPerS: 50_000 },
    loadScale: 0.3
  }
}

const SHIPPED: Record<string, () => BuildingSpec> = { default: defaultBuildingSpec, fine: fineBuildingSpec, small: smallBuildingSpec }

/** A shipped spec by name: default, fine or small. */
export function namedBuildingSpec (name: string): BuildingSpec {
  const make = SHIPPED[name]
  if (make === undefined) throw new Error(`no shipped building spec is named ${JSON.stringify(name)}; known: ${Object.keys(SHIPPED).join(', ')}`)
  return make()
}

/** Every element id of the building, in spec order. */
export function elementIds (spec: BuildingSpec): string[] {
  return [...spec.racks.map(r => r.id), spec.inverter.id, ...(spec.hvac ?? []).map(h => h.id), ...(spec.ev ?? []).map(e => e.id), ...(spec.pv === undefined ? [] : [spec.pv.id])]
}

/** [start, end) of a session in ms of the day; an end at or before the start wraps past midnight. */
export function sessionSpan (s: EvSession): { arriveMs: number, durationMs: number } {
  const arriveMs = parseTimeOfDay(s.arriveTod) ?? Number.NaN
  const departMs = parseTimeOfDay(s.departTod) ?? Number.NaN
  return { arriveMs, durationMs: ((departMs - arriveMs) % DAY_MS + DAY_MS) % DAY_MS }
}

const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0)

/** Cross-field rules the schema cannot say; undefined when the spec is consistent. */
function inconsistency (s: BuildingSpec): string | undefined {
  const ids = elementIds(s)
  const dup = ids.find((id, i) => ids.indexOf(id) !== i)
  if (dup !== undefined) return `element id ${dup} is used twice`
  if (ids.includes(WHOLE_BUILDING)) return `element id ${WHOLE_BUILDING} is reserved for the whole building`
  for (const [i, b] of s.racks.entries()) {
    const at = `racks/${i} (${b.id})`
    if (b.peakDischargeW < b.maxDischargeW || b.peakDischargeW > 2 * b.maxDischargeW) return `${at}: peakDischargeW must be within maxDischargeW..2 x maxDischargeW (${b.maxDischargeW}..${2 * b.maxDischargeW})`
    if (b.socFloorPm >= b.socCeilingPm) return `${at}: socFloorPm must be below socCeilingPm`
    if (b.initialSocPm < b.socFloorPm || b.initialSocPm > b.socCeilingPm) return `${at}: initialSocPm must be within floor..ceiling`
  }
  const capacityWh = sum(s.racks.map(r => r.capacityWh))
  const dischargeW = sum(s.racks.map(r => r.maxDischargeW))
  const chargeW = sum(s.racks.map(r => r.maxChargeW))
  if (capacityWh < 50_000 || capacityWh > 500_000) return `racks: total capacityWh ${capacityWh} is outside 50000..500000 (50–500 kWh usable)`
  if (dischargeW < 25_000 || dischargeW > 250_000) return `racks: total maxDischargeW ${dischargeW} is outside 25000..250000 (25–250 kW continuous)`
  if (chargeW > 250_000) return `racks: total maxChargeW ${chargeW} is above 250000`
  const sellableWh = sum(s.racks.map(r => r.capacityWh * (r.socCeilingPm - r.socFloorPm) / 1000))
  if (s.reserveWh >= sellableWh) return `reserveWh must leave sellable energy between the racks' floors and ceilings (${Math.floor(sellableWh)} Wh)`
  for (const [i, h] of (s.hvac ?? []).entries()) {
    if (h.flexW > h.ratedW) return `hvac/${i} (${h.id}): flexW must not exceed ratedW`
  }
  for (const [i, e] of (s.ev ?? []).entries()) {
    const spans = e.sessions.map(sessionSpan)
    for (const [k, sp] of spans.entries()) {
      const at = `ev/${i} (${e.id}) session ${k}`
      if (!Number.isFinite(sp.arriveMs) || !Number.isFinite(sp.durationMs)) return `${at}: times must be HH:MM within a day`
      if (sp.durationMs === 0) return `${at}: departure equals arrival`
      if (e.sessions[k]!.needWh > e.maxW * sp.durationMs / 3_600_000) return `${at}: needWh cannot be delivered at maxW within the session`
    }
    // Sessions of one charger may not overlap, also across midnight.
    for (let a = 0; a < spans.length; a++) {
      for (let b = a + 1; b < spans.length; b++) {
        const A = spans[a]!
        const B = spans[b]!
        const startGap = ((B.arriveMs - A.arriveMs) % DAY_MS + DAY_MS) % DAY_MS
        if (startGap < A.durationMs || DAY_MS - startGap < B.durationMs) return `ev/${i} (${e.id}): sessions ${a} and ${b} overlap`
      }
    }
  }
  return undefined
}

export function parseBuildingSpec (value: unknown): BuildingSpec {
  if (!check.Check(value)) {
    const first = check.Errors(value).First()
    throw new Error(`building spec: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`)
  }
  const problem = inconsistency(value)
  if (problem !== undefined) throw new Error(`building spec: ${problem}`)
  return value
}
