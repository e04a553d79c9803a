// The contract every settlement method fulfils. Both parties and every offline verifier run the
// same method on the same signed integers, so they agree to the last unit.
import type { ReadingBody } from '../records/meter-schemas.js'
import type { ServiceType, Window, Quantity } from '../records/common-schemas.js'
import type { SignalBody } from '../records/grid-schemas.js'

export interface MethodInput {
  window: Window
  quantity: Quantity
  /** The meter's readings over the method's span, contiguous and in order. */
  readings: readonly ReadingBody[]
  /** The requester's signed setpoints (frequency regulation only). */
  signals: readonly SignalBody[]
}

export interface MethodOutcome {
  /** Baseline in the committed unit (what the method compares against). */
  baseline: bigint
  /** Executed quantity in the committed unit. */
  executed: bigint
  /** Energy (Wh or varh) the requester pays for. */
  paid: bigint
  /** Performance against the commitment, per mille (0..1000). */
  performance: bigint
}

export interface SettlementMethod {
  id: string
  service: ServiceType
  unit: 'W' | 'var'
  /** Whether several commitments may share one request (their quantities add up). */
  divisible: boolean
  /** Needs the requester's regulation signal. */
  signal: boolean
  /** The span of readings the method needs: the window plus a baseline span before it. */
  span: (window: Window) => { from: number, to: number }
  outcome: (input: MethodInput) => MethodOutcome | undefined
}

/** Meter-before-event span: the window plus an equal span just before it. */
export function mbeSpan (window: Window): { from: number, to: number } {
  return { from: window.start - (window.end - window.start), to: window.end }
}
