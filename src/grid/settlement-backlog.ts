// Settlements sent to each requester and not yet answered, and how fast that requester has been
// answering them. A building that keeps committing while its settlements to a requester fall
// behind turns committed work into `unsettled` expiries (past capacity the node collapsed this
// way: bench/README.md, four-step throughput). While the backlog to a requester cannot clear
// before the earliest of its expiries at the requester's recent answer rate, the provider decides
// no new request from it.

/** Answer times kept per requester: the rate is measured over the last of them. */
const RATE_SAMPLES = 32

export class SettlementBacklog {
  /** requester → settlement (commitment id) → when the requester expires it, clock ms */
  private readonly pending = new Map<string, Map<string, number>>()
  /** requester → clock times of its latest answers, oldest first */
  private readonly answers = new Map<string, number[]>()

  /** A settlement is on its way to `requester`, which expires it at `expiresAt`. */
  sent (requester: string, id: string, expiresAt: number): void {
    let mine = this.pending.get(requester)
    if (mine === undefined) {
      // A new burst: the time since the last one was idle, not slowness.
      this.pending.set(requester, mine = new Map())
      this.answers.delete(requester)
    }
    mine.set(id, expiresAt)
  }

  /** The settlement is no longer on its way: answered at `at` (countersigned or disputed), or given up. */
  done (requester: string, id: string, at: number, answered: boolean): void {
    const mine = this.pending.get(requester)
    mine?.delete(id)
    if (mine?.size === 0) this.pending.delete(requester)
    if (!answered) return
    let times = this.answers.get(requester)
    if (times === undefined) this.answers.set(requester, times = [])
    times.push(at)
    if (times.length > RATE_SAMPLES) times.shift()
  }

  /**
   * Whether the settlements on their way to `requester` would not all be answered before the
   * earliest of them expires, at the rate its last answers came. Unknown until it has answered twice.
   */
  atRisk (requester: string, now: number): boolean {
    const mine = this.pending.get(requester)
    const times = this.answers.get(requester)
    if (mine === undefined || times === undefined || times.length < 2) return false
    const spanMs = times.at(-1)! - times[0]!
    if (spanMs <= 0) return false
    let earliest = Infinity
    for (const expiresAt of mine.values()) earliest = Math.min(earliest, expiresAt)
    const clearMs = mine.size * spanMs / (times.length - 1)
    return now + clearMs > earliest
  }
}
