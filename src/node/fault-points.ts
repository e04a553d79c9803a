// Fault injection for the crash and partition tests. PAIRGRID_CRASH_AT=<point>: the process kills
// itself with SIGKILL the first time it reaches that point — exactly a `kill -9` at that instant,
// made deterministic. PAIRGRID_PAUSE_AT=<point>: it waits PAIRGRID_PAUSE_MS there, once, so a test
// can cut the network at that step. Unset (always, outside those tests) each costs a comparison.
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

const crashAt = process.env.PAIRGRID_CRASH_AT
let pauseAt = process.env.PAIRGRID_PAUSE_AT

/** A named step of the protocol where a test may crash or pause the process. */
export async function faultPoint (point: CrashPoint): Promise<void> {
  if (crashAt === point) process.kill(process.pid, 'SIGKILL')
  if (pauseAt === point) {
    pauseAt = undefined
    await new Promise(resolve => setTimeout(resolve, Number(process.env.PAIRGRID_PAUSE_MS ?? 3000)))
  }
}

/** Crashes at simulated time `t` if this point is armed (the middle of an execution window). */
export function crashPointAt (point: CrashPoint, clock: Clock, t: number): void {
  if (crashAt === point) void clock.until(t).then(async () => await faultPoint(point))
}
