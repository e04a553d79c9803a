// The clock is injected everywhere: a devnet runs simulated time faster than wall time, and every
// process of one devnet derives the same simulated time from a shared (wall, sim) origin.
export interface Clock {
  /** Simulated time, ms since the Unix epoch. */
  now: () => number
  /** Simulated milliseconds per wall millisecond. */
  readonly speed: number
  /** Waits until simulated time reaches `t` (or the signal aborts). */
  until: (t: number, signal?: AbortSignal) => Promise<void>
}

export interface ClockOrigin { wall: number, sim: number, speed: number }

/**
 * The waits pending on each abort signal. A party passes its one stop signal to every wait (one
 * per open transaction, hundreds under load): one 'abort' listener per signal wakes them all,
 * rather than a listener per wait (which also set off MaxListenersExceededWarning past 10).
 */
const waiting = new WeakMap<AbortSignal, Set<() => void>>()

/** Calls `wake` when `signal` aborts; returns the function that stops listening. */
function onAbort (signal: AbortSignal, wake: () => void): () => void {
  let wakes = waiting.get(signal)
  if (wakes === undefined) {
    const all = new Set<() => void>()
    signal.addEventListener('abort', () => { for (const w of all) w() }, { once: true })
    waiting.set(signal, wakes = all)
  }
  wakes.add(wake)
  return () => { wakes.delete(wake) }
}

export function scaledClock ({ wall, sim, speed }: ClockOrigin): Clock {
  if (!(speed > 0)) throw new Error('clock speed must be positive')
  const now = (): number => Math.floor(sim + (Date.now() - wall) * speed)
  return {
    now,
    speed,
    until: async (t, signal) => {
      while (now() < t) {
        signal?.throwIfAborted()
        const { promise, resolve } = Promise.withResolvers<void>()
        const timer = setTimeout(resolve, Math.max(1, Math.ceil((t - now()) / speed)))
        const stop = signal === undefined ? undefined : onAbort(signal, () => { clearTimeout(timer); resolve() })
        await promise
        stop?.()
      }
      signal?.throwIfAborted()
    }
  }
}

export const realClock = (): Clock => scaledClock({ wall: Date.now(), sim: Date.now(), speed: 1 })

/** How far ahead of our clock a counterparty's record may be dated (clock skew between parties). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000

/** A record dated beyond our clock plus the allowed skew: refused, never trusted. */
export function fromTheFuture (issuedAt: number, clock: Clock): boolean {
  return issuedAt > clock.now() + MAX_CLOCK_SKEW_MS
}
