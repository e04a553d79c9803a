// Settlement methods: how the executed quantity is computed from signed readings. Both sides
// and every offline verifier run the same code on the same integers, so they agree exactly.
import type { ReadingBody } from '../records/meter-schemas.js'
import type { ServiceType, Window } from '../records/common-schemas.js'
import { DR_MBE, drOutcome, drTelemetrySpan } from './dr-mbe.js'

export interface MethodOutcome {
  /** Baseline in the committed unit. */
  baseline: bigint
  /** Executed quantity in the committed unit. */
  executed: bigint
  /** Executed energy (Wh or varh) over the window. */
  executedEnergy: bigint
}

export interface SettlementMethod {
  id: string
  service: ServiceType
  unit: 'W' | 'var'
  span: (window: Window) => { from: number, to: number }
  outcome: (readings: readonly ReadingBody[], window: Window) => MethodOutcome | undefined
}

const methods = new Map<string, SettlementMethod>([
  [DR_MBE, {
    id: DR_MBE,
    service: 'demand-response',
    unit: 'W',
    span: drTelemetrySpan,
    outcome: (readings, window) => {
      const o = drOutcome(readings, window)
      return o === undefined ? undefined : { baseline: o.baselineW, executed: o.executedW, executedEnergy: o.executedWh }
    }
  }]
])

export function settlementMethod (id: string): SettlementMethod | undefined {
  return methods.get(id)
}

export function knownSettlementMethods (): string[] {
  return [...methods.keys()]
}
