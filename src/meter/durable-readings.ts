// Who waits for which meter reading to be on disk — a settlement waits for the reading that
// closes its span. Shared by every simulated meter's driver (a building's, an EV site's).
interface Waiter { t: number, resolve: () => void, reject: (err: Error) => void }

export class DurableReadings {
  private waiters: Waiter[] = []
  private closed: Error | undefined

  constructor (private durableT: number) {}

  /** Resolves once the reading closing at `t` is durable; rejects once closed or aborted. */
  async wait (t: number, signal?: AbortSignal): Promise<void> {
    if (this.durableT >= t) return
    if (this.closed !== undefined) throw this.closed
    signal?.throwIfAborted()
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    const waiter: Waiter = { t, resolve, reject }
    this.waiters.push(waiter)
    const abort = (): void => {
      this.waiters = this.waiters.filter(w => w !== waiter)
      reject(signal?.reason as Error)
    }
    signal?.addEventListener('abort', abort, { once: true })
    try {
      await promise
    } finally {
      signal?.removeEventListener('abort', abort)
    }
  }

  /** Every reading closing at or before `t` is on disk. */
  reached (t: number): void {
    this.durableT = t
    const due = this.waiters.filter(w => w.t <= t)
    this.waiters = this.waiters.filter(w => w.t > t)
    for (const w of due) w.resolve()
  }

  /** No more readings will come (stopped or failed): every waiter, now and later, gets `err`. */
  close (err: Error): void {
    this.closed ??= err
    for (const w of this.waiters) w.reject(err)
    this.waiters = []
  }
}
