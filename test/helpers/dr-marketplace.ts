// The small tariff demand-response marketplace the admission tests share: buildings provide with
// interconnection, enrollment and a certified meter; community-energy parties request with an
// operating license from the regulator.
import { parseScenario, type Scenario } from '../../src/cli/devnet/scenario.js'

export const DR_PRICE = { mechanism: 'tariff', reference: 'tariff/dr', currency: 'USD', rate: 150_000, rateUnit: 'MWh' } as const

export const BUILDING_ACCREDITATIONS = [
  { kind: 'interconnection', by: 'utility' },
  { kind: 'dr-enrollment', by: 'utility' },
  { kind: 'meter-certification', by: 'meter-certifier' }
] as const

export const DR_AUTHORITIES = [{ name: 'meter-certifier', description: '' }, { name: 'regulator', description: '' }]

export const DR_MARKETPLACE = {
  name: 'dr', operator: 'utility', description: 'DR', priceMechanism: 'tariff', services: ['demand-response'], settlementMethods: ['pairgrid/dr-mbe/1'],
  settlementIntervalsMs: [900_000], toleranceBp: 1000, minimumBid: { value: 1000, unit: 'W' },
  roles: [
    { kind: 'building', may: ['provide'], requires: ['interconnection', 'dr-enrollment', 'meter-certification'] },
    { kind: 'community-energy', may: ['request'], requires: ['operating-license'] }
  ],
  trustedAccreditors: [
    { kind: 'interconnection', accreditor: 'utility' }, { kind: 'dr-enrollment', accreditor: 'utility' },
    { kind: 'meter-certification', accreditor: 'meter-certifier' }, { kind: 'operating-license', accreditor: 'regulator' }
  ],
  tariffs: [{ reference: 'tariff/dr', service: 'demand-response', price: DR_PRICE }]
}

/** A scenario of this marketplace (and copies of it under other names), with the given parties and no frameworks or scripted requests. */
export function drScenario (name: string, description: string, speed: number, meterIntervalMs: number, parties: unknown[], copies: string[] = []): Scenario {
  return parseScenario({
    name, description, speed, startTimeUtc: '14:00', meterIntervalMs, authorities: DR_AUTHORITIES, marketplaces: [DR_MARKETPLACE, ...copies.map(n => ({ ...DR_MARKETPLACE, name: n }))], parties, frameworks: [], requests: []
  }, `${name} test`)
}
