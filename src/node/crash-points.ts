// Fault injection for the crash-at-every-step tests: with PAIRGRID_CRASH_AT=<point> the process
// kills itself with SIGKILL the first time it reaches that point — exactly a `kill -9` at that
// instant, made deterministic. Unset (always, outside those tests) it costs one comparison.
import type { Clock } from './clock.js'

export const CRASH_POINTS = [
  'provider:commitment-persisted',
  'provider:answer-received',
  'provider:answer-persisted',
  'provider:mid-window',
  'provider:settlement-signed',
  'provider:countersign-received',
  'requester:commitment-received',
  'requester:answer-persisted',
  'requester:settlement-checked',
  'requester:countersign-persisted'
] as const
export type CrashPoint = typeof CRASH_POINTS[number]

const armed = process.env.PAIRGRID_CRASH_AT

export function crashPoint (point: CrashPoint): void {
  if (armed === point) process.kill(process.pid, 'SIGKILL')
}

/** Crashes at simulated time `t` if this point is armed (the middle of an execution window). */
export function crashPointAt (point: CrashPoint, clock: Clock, t: number): void {
  if (armed === point) void clock.until(t).then(() => crashPoint(point))
}
