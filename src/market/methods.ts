// The settlement methods a node knows, by id. Adding a method means adding one entry here and
// its section in protocols/settlement-methods.md.
import type { SettlementMethod } from './method.js'
import { DR_MBE, drOutcome } from './dr-mbe.js'
import { mbeSpan } from './method.js'
import { capacityHours, clamp } from './registers.js'
import { peakCap } from './peak-cap.js'
import { varSetpoint } from './var-setpoint.js'
import { voltVar } from './volt-var.js'
import { regdScore } from './regd-score.js'

const drMbe: SettlementMethod = {
  id: DR_MBE,
  service: 'demand-response',
  unit: 'W',
  divisible: true,
  signal: false,
  span: mbeSpan,
  outcome: ({ window, quantity, readings }) => {
    const o = drOutcome(readings, window)
    if (o === undefined) return undefined
    return {
      baseline: o.baselineW,
      executed: o.executedW,
      paid: clamp(o.executedWh, 0n, capacityHours(quantity.value, window.end - window.start)),
      performance: clamp((o.executedW * 1000n) / BigInt(quantity.value), 0n, 1000n)
    }
  }
}

const methods = new Map<string, SettlementMethod>([drMbe, peakCap, regdScore, voltVar, varSetpoint].map(m => [m.id, m]))

export function settlementMethod (id: string): SettlementMethod | undefined {
  return methods.get(id)
}

export function knownSettlementMethods (): string[] {
  return [...methods.keys()]
}

export type { SettlementMethod } from './method.js'
