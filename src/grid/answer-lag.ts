// How long our commitments take to be answered, smoothed. A request decided later than that
// before its expiry would be refused `expired` at the requester; deciding and committing it anyway
// only adds to a backlog that makes every later commitment late too (past capacity the node
// collapsed instead of degrading: bench/README.md, four-step throughput).

/** Weight of the newest answer in the smoothed lag: about the last ten answers count. */
const WEIGHT = 0.2

export class AnswerLag {
  private lag = 0

  /** Smoothed commitment-signed → answer-received time, clock ms. */
  get ms (): number { return this.lag }

  /** A commitment signed at `signedAt` was answered directly (not held for an auction) at `answeredAt`. */
  observe (signedAt: number, answeredAt: number): void {
    this.lag += WEIGHT * (Math.max(0, answeredAt - signedAt) - this.lag)
  }

  /** Whether a commitment decided at `now` can still be answered before the request's `expiresAt`. */
  inTime (expiresAt: number, now: number): boolean {
    return expiresAt > now + this.lag
  }
}
