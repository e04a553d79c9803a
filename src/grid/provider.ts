// The provider's side (a building): evaluate each request, commit over a direct stream, execute
// during the window, then sign the settlement from the meter's readings and get it countersigned.
import { decodeRecord, signRecord, verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import type { CommitmentBody, RequestBody, SettlementBody } from '../records/grid-schemas.js'
import { RefusedError, call } from '../net/rpc.js'
import { PROTOCOL_COMMIT, PROTOCOL_SETTLE, PROTOCOL_SIGNALS } from '../net/protocol-ids.js'
import type { CredentialStore } from '../credentials/store.js'
import { governanceViolation, priceViolation } from '../credentials/rules.js'
import { peerIdOfParty } from '../identity/peer.js'
import { settlementMethod } from '../market/methods.js'
import { computeSettlement, settlementDue } from '../market/settlement.js'
import { expire, persist, settlementDeadline, settlementExpiry, withRetry, withUnboundedListeners, type PartyContext } from './context.js'
import { COMMIT_LIMITS, SETTLE_LIMITS, SIGNALS_LIMITS } from './limits.js'
import type { Tx } from './book.js'
import { orderOf, type DispatchOrder } from './orders.js'
import { acceptancePriceFault } from './terms.js'
import { parseCommitmentQuery } from './queries.js'
import { TelemetryStore } from './telemetry-store.js'
import { AnswerLag } from './answer-lag.js'
import { SettlementBacklog } from './settlement-backlog.js'
import { commitDelayMs, rankOf, type MarketProviders } from './commit-waves.js'
import { READINGS_REUSE_MS, RecentResults } from './recent-results.js'
import { faultPoint, crashPointAt } from '../node/fault-points.js'
import { fromTheFuture } from '../node/clock.js'

export type Evaluation = { ok: true, elements: string[] } | { ok: false, reason: string, detail: string }

export interface Candidate { id: string, request: RequestBody }

/** What the protocol needs from the building and its meter. */
export interface BuildingPort {
  meterId: string
  /** Decides a batch of requests at once by the building's stated arbitration rule. */
  arbitrate: (candidates: Candidate[], committed: DispatchOrder[]) => Array<{ id: string, evaluation: Evaluation }>
  dispatch: (order: DispatchOrder) => void
  /** Applies the latest regulation setpoint (per mille of capacity) of a regulation order. */
  regulate: (orderId: string, setpointPm: number) => void
  waitForReading: (t: number, signal?: AbortSignal) => Promise<void>
  readings: (from: number, to: number) => Promise<Envelope[]>
}


/**
 * The building's bidding policy in auctions: its configured rate for the service, else 80% of
 * the reserve. A rate above the reserve means it does not bid.
 */
export type BidPolicy = (service: RequestBody['service'], reserveRate: number) => number

/** Why a request is not decided at all (counted in `refusals`), with the warning logged for it. */
const SHED = {
  'too-late': 'requests not decided: they would expire before our commitment is answered',
  'settling-backlog': 'requests not decided: our settlements to their requester are behind their expiry'
} as const

export class Provider {
  readonly refusals: Record<string, number> = {}
  private readonly abort = withUnboundedListeners(new AbortController())
  private readonly running = new Set<string>()
  private batch: Array<Verified<'grid.request'>> = []
  /** First-come requests waiting for their wave (commit-waves.ts), by id. */
  private readonly waiting = new Map<string, { request: Verified<'grid.request'>, timer: NodeJS.Timeout }>()
  readonly telemetry: TelemetryStore
  private readonly spanReadings = new RecentResults<Envelope[]>(READINGS_REUSE_MS)

  private readonly answerWaiters = new Map<string, () => void>()
  private readonly answerLag = new AnswerLag()
  private readonly backlog = new SettlementBacklog()
  /** Each commitment's order, made once: every decision lists the orders of all those held. */
  private readonly orders = new WeakMap<CommitmentBody, DispatchOrder>()

  constructor (
    private readonly ctx: PartyContext,
    private readonly building: BuildingPort,
    private readonly credentials: CredentialStore,
    private readonly bidRate: BidPolicy,
    private readonly providers: MarketProviders
  ) {
    this.telemetry = new TelemetryStore(ctx.db)
  }

  /** Orders of every accepted commitment that has not been settled yet (capacity in use). */
  private committedOrders (): DispatchOrder[] {
    const orders: DispatchOrder[] = []
    for (const tx of this.ctx.book.unfinished()) {
      const body = tx.commitment.record.body
      if (body.provider !== this.ctx.keys.id) continue
      let order = this.orders.get(body)
      if (order === undefined) this.orders.set(body, order = orderOf(tx.id, body))
      orders.push(order)
    }
    return orders
  }

  /** Called for every verified request gossiped on a joined marketplace; decided in batches. */
  onRequest (request: Verified<'grid.request'>): void {
    const { ctx } = this
    const r = request.record.body
    if (ctx.log.has(request.id) || this.waiting.has(request.id) || this.batch.some(b => b.id === request.id)) return
    const method = settlementMethod(r.settlementMethod)
    if (method === undefined || method.service !== r.service) return this.refuse(request, 'unsupported-service', `settlement method ${r.settlementMethod} is not supported for ${r.service}`)
    if (method.unit !== r.quantity.unit) return this.refuse(request, 'outside-surface', `${r.settlementMethod} settles quantities in ${method.unit}, the request asks for ${r.quantity.unit}`)
    if (r.window.start <= ctx.clock.now()) return this.refuse(request, 'window-passed', 'the window has already started')
    const rules = governanceViolation(this.credentials, r)
    if (rules !== undefined) return this.refuse(request, 'marketplace-rules', rules)
    if (r.price.mechanism === 'framework' && ![...this.credentials.frameworks.values()].some(a => a.record.body.reference === r.price.reference && a.record.body.provider === ctx.keys.id)) {
      ctx.logger.debug({ request: request.id }, 'framework request under another pair\'s agreement')
      return
    }
    const price = priceViolation(this.credentials, r, ctx.keys.id)
    if (price !== undefined) return this.refuse(request, 'price-mismatch', price)
    if (r.price.mechanism === 'auction' && this.bidRate(r.service, r.price.rate) > r.price.rate) return this.refuse(request, 'reserve-too-low', `our rate for ${r.service} is above the reserve ${r.price.rate}`)
    // Auctions want every bid and a framework request has one provider: only first-come requests take turns.
    const rank = r.price.mechanism === 'tariff' ? rankOf(request.id, ctx.keys.id, this.providers.of(r.marketplace)) : 0
    const { speed } = ctx.clock
    const delay = commitDelayMs(rank, this.answerLag.ms / speed, (r.expiresAt - ctx.clock.now()) / speed)
    if (delay === 0) return this.enqueue(request)
    const timer = setTimeout(() => {
      this.waiting.delete(request.id)
      this.enqueue(request)
    }, delay)
    this.waiting.set(request.id, { request, timer })
  }

  private enqueue (request: Verified<'grid.request'>): void {
    this.batch.push(request)
    // Requests that arrive in the same turn of the event loop are arbitrated together; a lone
    // request is decided at once (a timer here was most of the dispatch latency).
    if (this.batch.length === 1) setImmediate(() => this.decide())
  }

  /** The requester's notice that a request has no quantity left: not decided if still waiting for its wave. */
  onFilled (notice: Verified<'grid.filled'>): void {
    const n = notice.record.body
    const w = this.waiting.get(n.request)
    // The channel checked the notice's signer; only the request's own requester can call it filled.
    if (w === undefined || w.request.record.body.requester !== n.requester) return
    clearTimeout(w.timer)
    this.waiting.delete(n.request)
    this.refusals.filled = (this.refusals.filled ?? 0) + 1
    this.ctx.logger.debug({ request: n.request }, 'request filled before our wave')
  }

  private decide (): void {
    const { ctx } = this
    const now = ctx.clock.now()
    const batch: Array<Verified<'grid.request'>> = []
    const shed = Object.fromEntries(Object.keys(SHED).map(k => [k, 0])) as Record<keyof typeof SHED, number>
    const behind = new Map<string, boolean>()
    for (const request of this.batch) {
      const { requester, expiresAt } = request.record.body
      let late = behind.get(requester)
      if (late === undefined) behind.set(requester, late = this.backlog.atRisk(requester, now))
      if (late) shed['settling-backlog']++
      else if (!this.answerLag.inTime(expiresAt, now)) shed['too-late']++
      else batch.push(request)
    }
    this.batch = []
    for (const reason of Object.keys(SHED) as Array<keyof typeof SHED>) {
      const n = shed[reason]
      if (n === 0) continue
      this.refusals[reason] = (this.refusals[reason] ?? 0) + n
      // One line per batch, not per request: under overload a line each would add to the load.
      ctx.logger.warn({ shed: n, reason, answerLagMs: Math.round(this.answerLag.ms) }, SHED[reason])
    }
    if (batch.length === 0) return
    const decisions = this.building.arbitrate(batch.map(r => ({ id: r.id, request: r.record.body })), this.committedOrders())
    for (const { id, evaluation } of decisions) {
      const request = batch.find(r => r.id === id)!
      const fitted = evaluation.ok ? { quantity: request.record.body.quantity.value, elements: evaluation.elements } : this.partial(request)
      if (fitted === undefined) { this.refuse(request, (evaluation as { reason: string }).reason, (evaluation as { detail: string }).detail); continue }
      const r = request.record.body
      const commitment = signRecord('grid.commitment', {
        request: request.id,
        marketplace: r.marketplace,
        requester: r.requester,
        provider: ctx.keys.id,
        service: r.service,
        window: r.window,
        quantity: { value: fitted.quantity, unit: r.quantity.unit },
        // In an auction the commitment is our sealed bid; otherwise it repeats the request's price.
        price: r.price.mechanism === 'auction' ? { ...r.price, rate: this.bidRate(r.service, r.price.rate) } : r.price,
        settlementMethod: r.settlementMethod,
        meter: this.building.meterId,
        elements: fitted.elements,
        issuedAt: ctx.clock.now()
      }, ctx.keys)
      // Booked before the first await, so the next batch counts it as committed capacity.
      ctx.book.add(request)
      ctx.book.add(commitment)
      void this.run(request, commitment)
    }
  }

  /**
   * Partial commitment (divisible services only): the largest 10% step of the requested quantity
   * the building can serve, never below the marketplace's minimum bid.
   */
  private partial (request: Verified<'grid.request'>): { quantity: number, elements: string[] } | undefined {
    const r = request.record.body
    if (settlementMethod(r.settlementMethod)?.divisible !== true) return undefined
    const min = this.credentials.governance.get(r.marketplace)?.record.body.minimumBid
    for (let pct = 90; pct >= 10; pct -= 10) {
      const value = Math.floor(r.quantity.value * pct / 100)
      if (min !== undefined && min.unit === r.quantity.unit && value < min.value) break
      const [d] = this.building.arbitrate([{ id: request.id, request: { ...r, quantity: { ...r.quantity, value } } }], this.committedOrders())
      if (d?.evaluation.ok === true) return { quantity: value, elements: d.evaluation.elements }
    }
    return undefined
  }

  private refuse (request: Verified<'grid.request'>, reason: string, detail: string): void {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1
    this.ctx.logger.info({ request: request.id, reason, detail }, 'request not committed')
  }

  private async run (request: Verified<'grid.request'>, commitment: Verified<'grid.commitment'>): Promise<void> {
    try {
      await persist(this.ctx, request, commitment)
      await faultPoint('provider:commitment-persisted')
      this.ctx.logger.info({ tx: commitment.id, request: request.id }, 'commitment signed')
      await this.drive(this.ctx.book.txs.get(commitment.id)!)
    } catch (err) {
      await this.stalled(commitment.id, err as Error)
    }
  }

  /** A transaction we cannot carry on ends in our signed expiry, never in a log line alone. */
  private async stalled (id: string, err: Error): Promise<void> {
    const tx = this.ctx.book.txs.get(id)
    this.ctx.logger.error({ tx: id, err: err.message }, 'transaction stalled')
    if (this.abort.signal.aborted || tx === undefined || this.ctx.book.status(tx) !== 'accepted') return
    await expire(this.ctx, tx, 'unsettled', `we could not settle: ${err.message}`).catch(e => this.ctx.logger.error({ tx: id, err: (e as Error).message }, 'could not sign the expiry'))
  }

  /** Carries a transaction from wherever it stands to its end; also the restart path. */
  async drive (tx: Tx): Promise<void> {
    if (this.running.has(tx.id)) return
    this.running.add(tx.id)
    try {
      if (tx.answer === undefined) await this.sendCommitment(tx)
      if (tx.answer?.record.type !== 'grid.acceptance') return
      if (['settled', 'disputed', 'expired'].includes(this.ctx.book.status(tx))) return
      const order = orderOf(tx.id, tx.commitment.record.body)
      if (this.ctx.clock.now() < order.window.end) {
        this.building.dispatch(order)
        crashPointAt('provider:mid-window', this.ctx.clock, (order.window.start + order.window.end) / 2)
      }
      await this.settle(tx)
    } finally {
      this.running.delete(tx.id)
    }
  }

  private async sendCommitment (tx: Tx): Promise<void> {
    const { ctx } = this
    const c = tx.commitment.record.body
    const request = ctx.book.requests.get(c.request)!
    const ask = async (): Promise<unknown> => await withRetry(ctx, 'send commitment', Math.max(request.record.body.expiresAt, ctx.clock.now() + 60_000), async () =>
      await call(ctx.net, peerIdOfParty(c.requester), PROTOCOL_COMMIT, tx.commitment.record, COMMIT_LIMITS), this.abort.signal)
    let reply: unknown
    try {
      reply = await ask()
    } catch (err) {
      if (this.abort.signal.aborted) throw err
      return await expire(ctx, tx, 'unanswered', `no answer from the requester by ${new Date(request.record.body.expiresAt).toISOString()}: ${(err as Error).message}`)
    }
    const pending = (reply as { pending?: { decideBy?: unknown } }).pending
    if (pending === undefined) this.answerLag.observe(c.issuedAt, ctx.clock.now())
    else {
      // An auction: the answer is pushed once it clears; ask again if it has not come by then.
      const decideBy = typeof pending.decideBy === 'number' ? pending.decideBy : request.record.body.expiresAt
      ctx.logger.info({ tx: tx.id, decideBy }, 'bid held until the auction clears')
      const { promise, resolve } = Promise.withResolvers<void>()
      this.answerWaiters.set(tx.id, resolve)
      await Promise.race([promise, ctx.clock.until(decideBy + 30_000, this.abort.signal)])
      this.answerWaiters.delete(tx.id)
      if (tx.answer !== undefined) return
      try {
        reply = await ask()
      } catch (err) {
        if (this.abort.signal.aborted) throw err
        return await expire(ctx, tx, 'unanswered', `no auction result from the requester: ${(err as Error).message}`)
      }
    }
    await faultPoint('provider:answer-received')
    await this.acceptAnswer(tx, reply)
  }

  private async acceptAnswer (tx: Tx, reply: unknown): Promise<void> {
    const c = tx.commitment.record.body
    const answer = verifyRecord(reply, ['grid.acceptance', 'grid.rejection'] as const)
    if (answer.record.body.commitment !== tx.id || answer.record.body.requester !== c.requester) throw new RefusedError('wrong-answer', 'answer does not answer our commitment')
    if (tx.expiry !== undefined) throw new RefusedError('expired', 'we signed this commitment expired before the answer came')
    if (fromTheFuture(answer.record.body.issuedAt, this.ctx.clock)) throw new RefusedError('future-timestamp', 'answer is dated beyond our clock and the allowed skew')
    const request = this.ctx.book.requests.get(c.request)!
    const priceFault = answer.record.type === 'grid.acceptance' ? acceptancePriceFault(request.record.body, c, (answer as Verified<'grid.acceptance'>).record.body) : undefined
    if (priceFault !== undefined) throw new RefusedError('wrong-answer', priceFault)
    if (tx.answer !== undefined) return
    await persist(this.ctx, answer)
    await faultPoint('provider:answer-persisted')
    this.ctx.logger.info({ tx: tx.id, answer: answer.record.type, reason: (answer.record.body as { reason?: string }).reason }, 'commitment answered')
  }

  /** Handler of the answer protocol: a signed answer the requester decided after the commit stream closed. */
  async onAnswer (bytes: Uint8Array, remoteParty: string): Promise<{ ok: true }> {
    const answer = decodeRecord(bytes, ['grid.acceptance', 'grid.rejection'] as const)
    const tx = this.ctx.book.txs.get(answer.record.body.commitment)
    if (tx === undefined || tx.commitment.record.body.provider !== this.ctx.keys.id) throw new RefusedError('unknown-commitment', 'no commitment of ours has this id')
    if (answer.record.body.requester !== remoteParty) throw new RefusedError('signer-not-peer', 'answer is signed by another party than the stream peer')
    await this.acceptAnswer(tx, answer.record)
    this.answerWaiters.get(tx.id)?.()
    return { ok: true }
  }

  private async settle (tx: Tx): Promise<void> {
    const { ctx } = this
    const c = tx.commitment.record.body
    const method = settlementMethod(c.settlementMethod)!
    const span = method.span(c.window)
    if (tx.settlement === undefined) {
      const request = ctx.book.requests.get(c.request)!
      await ctx.clock.until(settlementDue(c.window.end, request.record.body.settlementIntervalMs), this.abort.signal)
      await this.building.waitForReading(span.to, this.abort.signal)
      // Complete once the closing reading is durable: the settlements of one window share one read.
      const readings = await this.spanReadings.get(`${span.from} ${span.to}`, async () => await this.building.readings(span.from, span.to))
      const signals = method.signal ? await this.fetchSignals(tx) : []
      const ledger = await this.ledgerCheckpoints(c.requester)
      const computed = computeSettlement(tx.commitment, tx.answer as Verified<'grid.acceptance'>, readings, signals, ledger, ctx.clock.now())
      if (!computed.ok) throw new Error(`cannot settle from our own meter: ${computed.reason}: ${computed.detail}`)
      const signed = signRecord('grid.settlement', computed.body, ctx.keys)
      await persist(ctx, signed)
      await faultPoint('provider:settlement-signed')
      ctx.logger.info({ tx: tx.id, executed: computed.body.executed, amount: computed.body.amount }, 'settlement signed')
    }
    const settlement = tx.settlement!
    const interval = ctx.book.requests.get(c.request)!.record.body.settlementIntervalMs
    const deadline = settlementDeadline(c.window.end, interval)
    let reply: unknown
    this.backlog.sent(c.requester, tx.id, settlementExpiry(c.window.end, interval))
    try {
      reply = await withRetry(ctx, 'send settlement', deadline, async () =>
        await call(ctx.net, peerIdOfParty(c.requester), PROTOCOL_SETTLE, settlement.record, SETTLE_LIMITS), this.abort.signal)
    } catch (err) {
      this.backlog.done(c.requester, tx.id, ctx.clock.now(), false)
      if (this.abort.signal.aborted) throw err
      return await expire(ctx, tx, 'uncountersigned', `the requester did not countersign by ${new Date(deadline).toISOString()}: ${(err as Error).message}`)
    }
    this.backlog.done(c.requester, tx.id, ctx.clock.now(), true)
    const answer = verifyRecord(reply, ['grid.settlement', 'grid.dispute'] as const)
    if (answer.record.type === 'grid.settlement') {
      if (answer.id !== settlement.id || answer.record.sigs.length !== 2) throw new Error('countersigned settlement does not match ours')
    } else if ((answer.record.body as { settlement: string }).settlement !== settlement.id) {
      throw new Error('dispute does not name our settlement')
    }
    await faultPoint('provider:countersign-received')
    await persist(ctx, answer)
    ctx.logger.info({ tx: tx.id, outcome: answer.record.type === 'grid.settlement' ? 'countersigned' : 'disputed' }, 'settlement answered')
  }

  /** Both checkpoints a settlement carries: ours now, and the requester's, verified to extend the one we hold. */
  private async ledgerCheckpoints (requester: string): Promise<SettlementBody['ledger']> {
    const { ctx } = this
    const theirs = await withRetry(ctx, 'exchange checkpoints', ctx.clock.now() + 24 * 3_600_000, async () => {
      const x = await ctx.ledger.exchange(requester)
      if (!x.ok && x.reason === 'unreachable') throw new Error(x.detail)
      return x
    }, this.abort.signal)
    if (!theirs.ok) throw new Error(`requester's log: ${theirs.reason}: ${theirs.detail}`)
    return { provider: ctx.ledger.ours(), requester: theirs.theirs }
  }

  /** The requester's whole signed signal series, fetched once the window is over and kept for the bundle. */
  private async fetchSignals (tx: Tx): Promise<Envelope[]> {
    const { ctx } = this
    const kept = await this.telemetry.signals(tx.id)
    if (kept.length > 0) return kept
    const answer = await withRetry(ctx, 'fetch regulation signal', ctx.clock.now() + 24 * 3_600_000, async () =>
      await call(ctx.net, peerIdOfParty(tx.commitment.record.body.requester), PROTOCOL_SIGNALS, { commitment: tx.id }, SIGNALS_LIMITS), this.abort.signal) as { signals?: unknown }
    if (!Array.isArray(answer.signals)) throw new Error('signals answer carries no signals array')
    const signals = answer.signals as Envelope[]
    await this.telemetry.putSignals(tx.id, signals.map((record, seq) => ({ seq, record })))
    return signals
  }

  /** Handler of the live regulation stream: a setpoint signed by the commitment's requester. */
  onRegulation (bytes: Uint8Array, remoteParty: string): void {
    const signal = decodeRecord(bytes, ['grid.signal'] as const)
    const b = signal.record.body
    if (b.requester !== remoteParty) throw new RefusedError('signer-not-peer', 'signal is signed by another party than the stream peer')
    const tx = this.ctx.book.txs.get(b.commitment)
    if (tx === undefined || tx.commitment.record.body.provider !== this.ctx.keys.id || tx.commitment.record.body.requester !== b.requester) throw new RefusedError('unknown-commitment', 'no commitment of ours to this requester has this id')
    if (tx.commitment.record.body.service !== 'frequency-regulation' || this.ctx.book.status(tx) !== 'accepted') throw new RefusedError('not-regulating', 'this commitment is not an accepted frequency-regulation commitment')
    this.building.regulate(tx.id, b.setpointPm)
  }

  /** Handler of the telemetry stream: only the commitment's requester may fetch its readings. */
  async onTelemetry (bytes: Uint8Array, remoteParty: string): Promise<{ readings: Envelope[] }> {
    const tx = this.ctx.book.txs.get(parseCommitmentQuery(bytes))
    if (tx === undefined || tx.commitment.record.body.provider !== this.ctx.keys.id) throw new RefusedError('unknown-commitment', 'no commitment of ours has this id')
    if (tx.commitment.record.body.requester !== remoteParty) throw new RefusedError('unauthorised', 'only the commitment\'s requester may fetch its telemetry')
    const span = settlementMethod(tx.commitment.record.body.settlementMethod)!.span(tx.commitment.record.body.window)
    return { readings: await this.building.readings(span.from, span.to) }
  }

  /** Resumes every transaction the log shows unfinished (after a restart). */
  resume (): void {
    for (const tx of this.ctx.book.txs.values()) {
      if (tx.commitment.record.body.provider !== this.ctx.keys.id) continue
      const status = this.ctx.book.status(tx)
      if (status === 'proposed' || status === 'accepted' || status === 'settling') {
        this.ctx.logger.info({ tx: tx.id, status }, 'resuming transaction')
        void this.drive(tx).catch(async err => await this.stalled(tx.id, err as Error))
      }
    }
  }

  stop (): void {
    this.abort.abort()
    for (const w of this.waiting.values()) clearTimeout(w.timer)
    this.waiting.clear()
  }
}
