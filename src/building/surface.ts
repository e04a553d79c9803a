// The grid-commitment surface and service list the building's admissibility profile carries,
// derived from its spec: aggregate bounds always, per-element bounds on a fine surface, and for
// each service the modeled worst-case physical response and the settlement method it executes.
import type { Surface } from '../records/credential-schemas.js'
import { DR_MBE } from '../market/dr-mbe.js'
import { PEAK_CAP } from '../market/peak-cap.js'
import { REGD_SCORE } from '../market/regd-score.js'
import { VAR_SETPOINT } from '../market/var-setpoint.js'
import { VOLT_VAR } from '../market/volt-var.js'
import { FR_RESPONSE_MS } from './evaluate.js'
import { EV_SHED_MS } from './ev-charger.js'
import { HVAC_SHED_MS } from './hvac.js'
import { SERVICES, type Service } from './order.js'
import { RESPONSE_TOLERANCE } from './responses.js'
import type { BuildingSpec } from './spec.js'

const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0)
const usableWh = (r: BuildingSpec['racks'][number]): number => Math.floor(r.capacityWh * (r.socCeilingPm - r.socFloorPm) / 1000)

export function surfaceOf (spec: BuildingSpec): Surface {
  const va = spec.inverter.ratedVA
  return {
    granularity: spec.surface,
    energyWh: sum(spec.racks.map(usableWh)),
    continuousW: Math.min(va, sum(spec.racks.map(r => r.maxDischargeW))),
    peakW: Math.min(va, sum(spec.racks.map(r => r.peakDischargeW))),
    peakDurationMs: Math.min(...spec.racks.map(r => r.peakDurationMs)),
    var: va,
    reserveWh: spec.reserveWh,
    elements: spec.surface === 'coarse'
      ? []
      : [
          ...spec.racks.map(r => ({ id: r.id, kind: 'battery-rack' as const, powerW: r.maxDischargeW, energyWh: usableWh(r) })),
          { id: spec.inverter.id, kind: 'inverter' as const, powerW: va, var: va },
          ...(spec.hvac ?? []).map(h => ({ id: h.id, kind: 'hvac' as const, powerW: h.flexW })),
          ...(spec.ev ?? []).map(e => ({ id: e.id, kind: 'ev-charger' as const, powerW: e.maxW })),
          ...(spec.pv === undefined ? [] : [{ id: spec.pv.id, kind: 'pv' as const, powerW: spec.pv.ratedW }])
        ]
  }
}

const METHOD: Record<Service, string> = {
  'demand-response': DR_MBE,
  'peak-shaving': PEAK_CAP,
  'frequency-regulation': REGD_SCORE,
  'voltage-support': VOLT_VAR,
  'reactive-power': VAR_SETPOINT
}

/**
 * Each service with the modeled time to come within 5% of the committed quantity after the
 * largest step it can be asked for (regulation and volt-var: a full swing from one end to the other).
 */
export function servicesOf (spec: BuildingSpec): Array<{ service: Service, responseMs: number, settlementMethods: string[] }> {
  const s = surfaceOf(spec)
  const rampMs = (step: number, quantity: number): number => Math.ceil((step - RESPONSE_TOLERANCE * quantity) / spec.inverter.rampWPerS * 1000)
  const shedMs = Math.max((spec.hvac ?? []).length > 0 ? HVAC_SHED_MS : 0, (spec.ev ?? []).length > 0 ? EV_SHED_MS : 0)
  const frW = Math.min(s.continuousW, sum(spec.racks.map(r => r.maxChargeW)))
  const responseMs: Record<Service, number> = {
    // A demand-response order served by curtailment alone responds as fast as the loads shed.
    'demand-response': Math.max(rampMs(s.continuousW, s.continuousW), Math.ceil(shedMs * (1 - RESPONSE_TOLERANCE))),
    'peak-shaving': rampMs(s.continuousW, s.continuousW),
    'frequency-regulation': Math.min(FR_RESPONSE_MS, rampMs(2 * frW, frW)),
    'voltage-support': rampMs(2 * s.var, s.var),
    'reactive-power': rampMs(s.var, s.var)
  }
  return SERVICES.map(service => ({ service, responseMs: responseMs[service], settlementMethods: [METHOD[service]] }))
}
