// The requester's side (utility, ISO, peer, community entity): publish a signed request, answer
// each commitment with a signed acceptance or rejection, and countersign or dispute settlements.
import { randomBytes } from 'node:crypto'
import { countersign, decodeRecord, signRecord, type Envelope, type Verified } from '../records/envelope.js'
import type { RequestBody, SettlementBody } from '../records/grid-schemas.js'
import { checkpointAt } from '../log/checkpoint.js'
import { fromTheFuture } from '../node/clock.js'
import { faultPoint } from '../node/fault-points.js'
import type { RejectionReason } from '../records/grid-schemas.js'
import { RefusedError, call } from '../net/rpc.js'
import { PROTOCOL_ANSWER, PROTOCOL_REGULATION, PROTOCOL_TELEMETRY } from '../net/protocol-ids.js'
import type { Directory } from '../credentials/directory.js'
import { governanceViolation, priceViolation } from '../credentials/rules.js'
import { clearAuction } from '../market/auction.js'
import { expire, settlementExpiry, withRetry, withUnboundedListeners } from './context.js'
import { MessageSender } from '../net/message-stream.js'
import { encodeRecord } from '../records/envelope.js'
import { SIGNAL_INTERVAL_MS } from '../market/regd-score.js'
import { regulationSetpoint } from './regulation-signal.js'
import { parseCommitmentQuery } from './queries.js'
import type { Tx } from './book.js'
import { peerIdOfParty } from '../identity/peer.js'
import { checkSettlement } from '../market/settlement.js'
import { settlementMethod } from '../market/methods.js'
import type { RequestChannel } from '../net/gossip.js'
import { persist, type PartyContext } from './context.js'
import { termsMismatch } from './terms.js'
import { TelemetryStore } from './telemetry-store.js'
import { READINGS_REUSE_MS, RecentResults } from './recent-results.js'
import { ANSWER_LIMITS, TELEMETRY_LIMITS } from './limits.js'
import type { MarketProviders } from './commit-waves.js'

export type RequestParams = Omit<RequestBody, 'requester' | 'nonce' | 'issuedAt'>

export class Requester {
  readonly telemetry: TelemetryStore

  constructor (
    private readonly ctx: PartyContext,
    private readonly channel: RequestChannel,
    private readonly directory: Directory,
    private readonly providers: MarketProviders
  ) {
    this.telemetry = new TelemetryStore(ctx.db)
  }

  async publish (params: RequestParams): Promise<Verified<'grid.request'>> {
    const { ctx } = this
    const method = settlementMethod(params.settlementMethod)
    if (method === undefined || method.service !== params.service) throw new Error(`settlement method ${params.settlementMethod} does not settle ${params.service}`)
    if (method.unit !== params.quantity.unit) throw new Error(`${params.settlementMethod} settles quantities in ${method.unit}, not ${params.quantity.unit}`)
    if (this.channel.subscribers(params.marketplace) === 0) throw new Error(`no peer subscribes to marketplace ${params.marketplace} yet; wait for the mesh`)
    const body: RequestBody = { ...params, requester: ctx.keys.id, nonce: randomBytes(16).toString('hex'), issuedAt: ctx.clock.now() }
    const store = this.directory.store
    const agreement = [...store.frameworks.values()].find(a => a.record.body.reference === body.price.reference)?.record.body
    const violation = governanceViolation(store, body) ?? (body.price.mechanism === 'auction' ? undefined : priceViolation(store, body, agreement?.provider ?? ''))
    if (violation !== undefined) throw new Error(violation)
    const request = signRecord('grid.request', body, ctx.keys)
    await persist(ctx, request)
    const recipients = await this.channel.publish(request)
    ctx.logger.info({ request: request.id, service: body.service, quantity: body.quantity, recipients }, 'request published')
    return request
  }

  private async answer (commitment: Verified<'grid.commitment'>, reason: RejectionReason | undefined, detail: string, clearing?: RequestBody['price']): Promise<Envelope> {
    const { ctx } = this
    const c = commitment.record.body
    const common = { commitment: commitment.id, request: c.request, requester: ctx.keys.id, provider: c.provider, issuedAt: ctx.clock.now() }
    const answer = reason === undefined
      ? signRecord('grid.acceptance', clearing === undefined ? common : { ...common, price: clearing }, ctx.keys)
      : signRecord('grid.rejection', { ...common, reason, detail }, ctx.keys)
    await faultPoint('requester:commitment-received')
    await persist(ctx, commitment, answer)
    await faultPoint('requester:answer-persisted')
    ctx.logger.info({ tx: commitment.id, provider: c.provider, answer: answer.record.type, reason, detail }, 'commitment answered')
    return answer.record
  }

  /** Handler of the commit stream: one commitment in, one signed answer (or, in an auction, a pending notice) out. */
  async onCommitment (bytes: Uint8Array, remoteParty: string): Promise<Envelope | { pending: { decideBy: number } }> {
    const { ctx } = this
    const commitment = decodeRecord(bytes, ['grid.commitment'] as const)
    const c = commitment.record.body
    if (c.provider !== remoteParty) throw new RefusedError('signer-not-peer', 'commitment is signed by another party than the stream peer')
    if (fromTheFuture(c.issuedAt, ctx.clock)) throw new RefusedError('future-timestamp', 'commitment is dated beyond our clock and the allowed skew')
    if (c.requester !== ctx.keys.id) throw new RefusedError('wrong-requester', 'commitment names another requester')
    const existing = ctx.book.txs.get(commitment.id)?.answer
    if (existing !== undefined) return existing.record
    // A retry racing its first copy waits for the same answer instead of getting a second one.
    const inFlight = this.deciding.get(commitment.id)
    if (inFlight !== undefined) return await inFlight
    const decision = this.decide(commitment, remoteParty)
    this.deciding.set(commitment.id, decision)
    try {
      return await decision
    } finally {
      this.deciding.delete(commitment.id)
    }
  }

  private readonly deciding = new Map<string, Promise<Envelope | { pending: { decideBy: number } }>>()

  private async decide (commitment: Verified<'grid.commitment'>, remoteParty: string): Promise<Envelope | { pending: { decideBy: number } }> {
    const { ctx } = this
    const c = commitment.record.body
    const request = ctx.book.requests.get(c.request)
    if (request === undefined || request.record.body.requester !== ctx.keys.id) return await this.answer(commitment, 'unknown-request', 'no request of ours has this id')
    const earlier = ctx.book.commitmentBy(request.id, c.provider)
    if (earlier !== undefined && earlier !== commitment.id) {
      ctx.logger.warn({ request: request.id, provider: c.provider, first: earlier, second: commitment.id }, 'equivocation: a second, different commitment to one request')
      return await this.answer(commitment, 'equivocation', `commitment ${earlier} to this request came first`)
    }
    const r = request.record.body
    const mismatch = termsMismatch(r, c)
    if (mismatch !== undefined) return await this.answer(commitment, 'inconsistent-terms', mismatch)
    // A held bid asked about again (before the auction clears) is still pending, even after expiry.
    if (r.price.mechanism === 'auction' && ctx.book.txs.has(commitment.id)) return { pending: { decideBy: r.expiresAt } }
    if (ctx.clock.now() >= r.expiresAt) return await this.answer(commitment, 'expired', `request expired at ${new Date(r.expiresAt).toISOString()}`)
    const admission = await this.directory.admit(r.marketplace, c.provider, 'provide', c.meter)
    if (!admission.ok) return await this.answer(commitment, 'not-admitted', `${admission.reason}: ${admission.detail}`)
    const g = this.directory.store.governance.get(r.marketplace)?.record.body
    if (g !== undefined && c.quantity.unit === g.minimumBid.unit && c.quantity.value < g.minimumBid.value) return await this.answer(commitment, 'below-minimum-bid', `${g.name} takes bids of at least ${g.minimumBid.value} ${g.minimumBid.unit}`)
    if (r.price.mechanism === 'auction') return await this.holdBid(request, commitment)
    // The fill check and the reservation below run without an await between them, so concurrent
    // commitments for one request can never be accepted beyond its quantity.
    const taken = ctx.book.filled(request.id) + this.pendingFill(request.id)
    const method = settlementMethod(r.settlementMethod)!
    if (!method.divisible) {
      if (c.quantity.value !== r.quantity.value) return await this.answer(commitment, 'inconsistent-terms', `${r.settlementMethod} takes the whole request: commit ${r.quantity.value} ${r.quantity.unit}`)
      if (taken > 0) return await this.answer(commitment, 'filled', 'another provider already holds this request')
    } else if (c.quantity.value > r.quantity.value - taken) {
      return await this.answer(commitment, 'filled', `${r.quantity.value - taken} ${r.quantity.unit} remain of ${r.quantity.value}`)
    }
    this.pending.set(commitment.id, { request: request.id, value: c.quantity.value })
    const fills = taken + c.quantity.value >= r.quantity.value
    let answer: Envelope
    try {
      answer = await this.answer(commitment, undefined, '')
    } finally {
      this.pending.delete(commitment.id)
    }
    // Exactly one acceptance completes a request (the reservation above is synchronous).
    if (fills && r.price.mechanism === 'tariff' && this.providers.of(r.marketplace).length > 1) void this.announceFilled(request)
    if (method.signal) void this.regulate(ctx.book.txs.get(commitment.id)!)
    this.awaitSettlement(ctx.book.txs.get(commitment.id)!)
    return answer
  }

  /**
   * Tells the marketplace's providers still waiting for their wave (commit-waves.ts)
   * that the request has no quantity left. Advisory: a provider that misses it is answered `filled`.
   */
  private async announceFilled (request: Verified<'grid.request'>): Promise<void> {
    const { ctx } = this
    const r = request.record.body
    const issuedAt = ctx.clock.now()
    if (issuedAt >= r.expiresAt) return
    const notice = signRecord('grid.filled', { request: request.id, marketplace: r.marketplace, requester: ctx.keys.id, issuedAt, expiresAt: r.expiresAt }, ctx.keys)
    try {
      await this.channel.publish(notice)
    } catch (err) {
      ctx.logger.debug({ request: request.id, err: (err as Error).message }, 'fill notice not published')
    }
  }

  private readonly pending = new Map<string, { request: string, value: number }>()
  private readonly clearing = new Set<string>()

  /**
   * Keeps a sealed bid, on disk, until the auction closes at the request's expiry. The bids to
   * clear are the request's unanswered commitments in the book, so a restart loses none.
   */
  private async holdBid (request: Verified<'grid.request'>, bid: Verified<'grid.commitment'>): Promise<{ pending: { decideBy: number } }> {
    await persist(this.ctx, bid)
    this.scheduleClearing(request)
    return { pending: { decideBy: request.record.body.expiresAt } }
  }

  private scheduleClearing (request: Verified<'grid.request'>): void {
    if (this.clearing.has(request.id)) return
    this.clearing.add(request.id)
    void this.ctx.clock.until(request.record.body.expiresAt, this.abort.signal).then(async () => await this.clear(request), () => {})
  }

  private async clear (request: Verified<'grid.request'>): Promise<void> {
    const { ctx } = this
    const r = request.record.body
    const held = ctx.book.ofRequestId(request.id).filter(tx => tx.answer === undefined).map(tx => tx.commitment)
    const g = this.directory.store.governance.get(r.marketplace)?.record.body
    const result = clearAuction(held.map(b => ({ id: b.id, quantity: b.record.body.quantity.value, rate: b.record.body.price.rate, issuedAt: b.record.body.issuedAt })), r.quantity.value, r.price.rate, g !== undefined && g.minimumBid.unit === r.quantity.unit ? g.minimumBid.value : 0)
    ctx.logger.info({ request: request.id, bids: held.length, winners: result.winners.length, clearingRate: result.clearingRate }, 'auction cleared')
    for (const bid of held) {
      const lost = result.losers.find(l => l.id === bid.id)
      const answer = lost === undefined
        ? await this.answer(bid, undefined, '', { ...bid.record.body.price, rate: result.clearingRate! })
        : await this.answer(bid, 'auction-lost', `${lost.reason}; clearing rate ${result.clearingRate ?? 'none'}`)
      void this.push(bid, answer)
      if (lost === undefined && settlementMethod(r.settlementMethod)?.signal === true) void this.regulate(ctx.book.txs.get(bid.id)!)
      if (lost === undefined) this.awaitSettlement(ctx.book.txs.get(bid.id)!)
    }
    this.clearing.delete(request.id)
  }

  /** Delivers an answer decided after the commit stream closed; the provider may also ask again. */
  private async push (commitment: Verified<'grid.commitment'>, answer: Envelope): Promise<void> {
    const { ctx } = this
    const c = commitment.record.body
    try {
      await withRetry(ctx, 'push answer', c.window.start, async () =>
        await call(ctx.net, peerIdOfParty(c.provider), PROTOCOL_ANSWER, answer, ANSWER_LIMITS), this.abort.signal)
    } catch (err) {
      ctx.logger.warn({ tx: commitment.id, err: (err as Error).message }, 'answer not delivered; the provider can ask again')
    }
  }
  private pendingFill (requestId: string): number {
    let sum = 0
    for (const p of this.pending.values()) if (p.request === requestId) sum += p.value
    return sum
  }

  /** Handler of the settle stream: fetch the telemetry, check, countersign or dispute. */
  async onSettlement (bytes: Uint8Array, remoteParty: string): Promise<Envelope> {
    const { ctx } = this
    const settlement = decodeRecord(bytes, ['grid.settlement'] as const)
    const s = settlement.record.body
    if (s.provider !== remoteParty) throw new RefusedError('signer-not-peer', 'settlement is signed by another party than the stream peer')
    if (fromTheFuture(s.issuedAt, ctx.clock)) throw new RefusedError('future-timestamp', 'settlement is dated beyond our clock and the allowed skew')
    const tx = ctx.book.txs.get(s.commitment)
    if (tx === undefined || tx.answer?.record.type !== 'grid.acceptance') throw new RefusedError('unknown-commitment', 'no accepted commitment of ours has this id')
    if (tx.dispute !== undefined) return tx.dispute.record
    if (tx.expiry !== undefined && tx.settlement?.record.sigs.length !== 2) throw new RefusedError('expired', 'we signed this transaction expired: no settlement came in time')
    if (tx.settlement !== undefined && tx.settlement.id !== settlement.id) {
      // A second, different settlement for one commitment: record the equivocation, answer with what stands.
      ctx.book.add(settlement)
      ctx.logger.warn({ tx: tx.id, first: tx.settlement.id, second: settlement.id }, 'equivocation: a second, different settlement for one commitment')
      if (tx.settlement.record.sigs.length === 2) return tx.settlement.record
    }
    if (tx.settlement?.record.sigs.length === 2) return tx.settlement.record
    if (settlement.record.sigs.length !== 1) throw new RefusedError('bad-settlement', 'expected a settlement signed by the provider only')
    const request = ctx.book.requests.get(s.request)
    if (request === undefined) throw new RefusedError('unknown-request', 'settlement names a request we do not hold')

    let raw: unknown[]
    try {
      raw = await this.fetchReadings(tx)
    } catch (err) {
      // Not a dispute: the provider retries the settlement, and we fetch again.
      throw new RefusedError('telemetry-unavailable', `could not fetch the readings: ${(err as Error).message}`)
    }
    // Not awaited alone: the records below go to disk in the same or a later batch, and waiting
    // for them waits for it (one fsync wait per settlement instead of two).
    const readingsStored = this.telemetry.putReadings(tx.id, raw as Envelope[])
    readingsStored.catch(() => {})
    const ledger = await this.checkLedger(s)
    const signals = settlementMethod(tx.commitment.record.body.settlementMethod)?.signal === true ? await this.telemetry.signals(tx.id) : []
    const check = ledger ?? checkSettlement(settlement, tx.commitment, tx.answer as Verified<'grid.acceptance'>, request.record.body.toleranceBp, raw, signals)
    if (!check.ok) {
      const dispute = signRecord('grid.dispute', {
        settlement: settlement.id, commitment: tx.id, request: s.request, by: ctx.keys.id, against: s.provider, reason: check.reason, detail: check.detail.slice(0, 512), issuedAt: ctx.clock.now()
      }, ctx.keys)
      await Promise.all([readingsStored, persist(ctx, settlement, dispute)])
      ctx.logger.warn({ tx: tx.id, reason: check.reason, detail: check.detail }, 'settlement disputed')
      return dispute.record
    }
    const signed = countersign(settlement, ctx.keys)
    await faultPoint('requester:settlement-checked')
    await Promise.all([readingsStored, persist(ctx, signed)])
    await faultPoint('requester:countersign-persisted')
    ctx.logger.info({ tx: tx.id, executed: s.executed, amount: s.amount }, 'settlement countersigned')
    return signed.record
  }

  private readonly readingsFetches = new RecentResults<unknown[]>(READINGS_REUSE_MS)

  /**
   * The provider's signed readings over a commitment's telemetry span. Settlements of commitments
   * with one meter and one span (many transactions in one window) share one fetch while it is
   * recent: the readings are the same signed records, and each settlement still checks them all.
   */
  private async fetchReadings (tx: Tx): Promise<unknown[]> {
    const c = tx.commitment.record.body
    const span = settlementMethod(c.settlementMethod)!.span(c.window)
    return await this.readingsFetches.get(`${c.provider} ${c.meter} ${span.from} ${span.to}`, async () => {
      const answer = await call(this.ctx.net, peerIdOfParty(c.provider), PROTOCOL_TELEMETRY, { commitment: tx.id }, TELEMETRY_LIMITS) as { readings?: unknown }
      if (!Array.isArray(answer.readings)) throw new Error('telemetry answer carries no readings array')
      return answer.readings
    })
  }

  /**
   * The checkpoints the settlement carries: ours must be what our log was at that size, and the
   * provider's must extend the last checkpoint of its log we hold — else its history was rewritten.
   */
  private async checkLedger (s: SettlementBody): Promise<{ ok: false, reason: 'fork-detected' | 'ledger-mismatch', detail: string } | undefined> {
    const { ctx } = this
    const mine = s.ledger.requester
    if (mine.size > ctx.log.head.size || checkpointAt(ctx.log, mine.size).root !== mine.root) {
      return { ok: false, reason: 'ledger-mismatch', detail: `the settlement states our log at size ${mine.size} as ${mine.root.slice(0, 12)}…, which it never was` }
    }
    const theirs = await ctx.ledger.exchange(s.provider, s.ledger.provider)
    if (theirs.ok) return undefined
    if (theirs.reason === 'unreachable') throw new RefusedError('ledger-unavailable', `could not check the provider's log: ${theirs.detail}`)
    return { ok: false, reason: theirs.reason, detail: theirs.detail }
  }

  /**
   * Streams the regulation signal of an accepted frequency-regulation commitment: one signed
   * setpoint per 2-s slot of the window, each on disk before it is sent. A send that fails does
   * not stop the signal: the series on disk is what settles, and the stream reopens.
   */
  async regulate (tx: Tx): Promise<void> {
    const { ctx } = this
    const c = tx.commitment.record.body
    if (this.regulating.has(tx.id)) return
    this.regulating.add(tx.id)
    const sender = new MessageSender(ctx.net, peerIdOfParty(c.provider), PROTOCOL_REGULATION, 2_000)
    try {
      const sent = new Set((await this.telemetry.signals(tx.id)).map(s => (s.body as { seq: number }).seq))
      const slots = (c.window.end - c.window.start) / SIGNAL_INTERVAL_MS
      for (let seq = 0; seq < slots; seq++) {
        const t = c.window.start + seq * SIGNAL_INTERVAL_MS
        // A slot that passed (we were down or behind) stays empty: the method holds the previous setpoint.
        if (sent.has(seq) || ctx.clock.now() >= t + SIGNAL_INTERVAL_MS) continue
        await ctx.clock.until(t, this.abort.signal)
        const signal = signRecord('grid.signal', { commitment: tx.id, requester: ctx.keys.id, provider: c.provider, seq, t, setpointPm: regulationSetpoint(tx.id, t) }, ctx.keys)
        await this.telemetry.putSignals(tx.id, [{ seq, record: signal.record }])
        await sender.send(encodeRecord(signal.record)).catch((err: Error) => ctx.logger.warn({ tx: tx.id, seq, err: err.message }, 'regulation signal not delivered'))
      }
      ctx.logger.info({ tx: tx.id, slots }, 'regulation signal complete')
    } catch (err) {
      if (!this.abort.signal.aborted) ctx.logger.error({ tx: tx.id, err: (err as Error).message }, 'regulation signal stopped')
    } finally {
      await sender.close()
      this.regulating.delete(tx.id)
    }
  }

  private readonly regulating = new Set<string>()
  private readonly abort = withUnboundedListeners(new AbortController())

  /** Handler of the signals protocol: the provider of a commitment fetches its whole signal series. */
  async onSignalsQuery (bytes: Uint8Array, remoteParty: string): Promise<{ signals: Envelope[] }> {
    const id = parseCommitmentQuery(bytes)
    const tx = this.ctx.book.txs.get(id)
    if (tx === undefined || tx.commitment.record.body.requester !== this.ctx.keys.id) throw new RefusedError('unknown-commitment', 'no commitment to us has this id')
    if (tx.commitment.record.body.provider !== remoteParty) throw new RefusedError('unauthorised', 'only the commitment\'s provider may fetch its signal')
    return { signals: await this.telemetry.signals(id) }
  }

  /**
   * An accepted transaction whose settlement never comes ends in our signed expiry — half an
   * interval after the provider's own deadline, so its retries have their chance first.
   */
  private awaitSettlement (tx: Tx): void {
    const { ctx } = this
    const c = tx.commitment.record.body
    const interval = ctx.book.requests.get(c.request)!.record.body.settlementIntervalMs
    const at = settlementExpiry(c.window.end, interval)
    void ctx.clock.until(at, this.abort.signal).then(async () => {
      if (ctx.book.status(tx) === 'accepted' || ctx.book.status(tx) === 'settling') await expire(ctx, tx, 'unsettled', `no settlement from the provider by ${new Date(at).toISOString()}`)
    }, () => {})
  }

  /** After a restart: clear auctions whose bids are held, keep streaming every regulation window not yet over. */
  resume (): void {
    for (const tx of this.ctx.book.txs.values()) {
      const c = tx.commitment.record.body
      if (c.requester !== this.ctx.keys.id) continue
      const status = this.ctx.book.status(tx)
      const request = this.ctx.book.requests.get(c.request)
      if (status === 'proposed' && request?.record.body.price.mechanism === 'auction') this.scheduleClearing(request)
      if (status === 'accepted' && settlementMethod(c.settlementMethod)?.signal === true && this.ctx.clock.now() < c.window.end) void this.regulate(tx)
      if (status === 'accepted') this.awaitSettlement(tx)
    }
  }

  stop (): void { this.abort.abort() }
}
