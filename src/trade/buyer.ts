// The buyer's side of a trade: accept an offer over a direct stream (signed acceptance → signed
// confirmation or refusal), take matching offers on its own by its policy, then check the
// producer's settlement and certificate against both meters and the ledger state, and
// countersign them or sign a dispute. Retires its certificates, once each.
import { randomBytes } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { countersign, signRecord, verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import type { BidBody, TradeDisputeReason } from '../records/trade-schemas.js'
import { RefusedError, call } from '../net/rpc.js'
import { PROTOCOL_TRADE_ACCEPT, PROTOCOL_TRADE_READINGS, PROTOCOL_TRADE_RETIRE } from '../net/protocol-ids.js'
import { TRADE_ACCEPT_LIMITS, TRADE_READINGS_LIMITS, TRADE_RETIRE_LIMITS } from '../grid/limits.js'
import { peerIdOfParty } from '../identity/peer.js'
import { canonicalize } from '../records/canonical.js'
import type { Trade } from './book.js'
import { withUnboundedListeners } from '../grid/context.js'
import { TradeError, ownLocation, persist, refused, retry, type OwnMeter, type TradeContext } from './context.js'
import type { BuyerPolicy } from './policy.js'
import { offerMismatch } from './filters.js'
import { certificateProblem, checkTradeSettlement } from './delivery.js'
import { CertificateRegistry } from './certificates.js'
import type { LedgerCheck } from './ledger-check.js'
import { blockProblem } from '../records/trade-schemas.js'
import { REPLY_TIMEOUT_MS, parseSettleRequest } from './settle-messages.js'

export type Answer = Verified<'trade.confirmation'> | Verified<'trade.refusal'>

export type BidParams = Pick<BidBody, 'marketplace' | 'block' | 'quantityWh' | 'price' | 'zeroCarbonOnly' | 'sameFeederOnly'> & { expiresAt?: number }

const ReadingsAnswer = TypeCompiler.Compile(Type.Object({ readings: Type.Array(Type.Unknown(), { maxItems: 10_000 }), blockWh: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) }, { additionalProperties: false }))

export class Buyer {
  readonly certificates = new CertificateRegistry()
  private readonly abort = withUnboundedListeners(new AbortController())
  /** Wh being accepted per block start, not yet answered: counted by the auto-buy policy. */
  private readonly inFlight = new Map<string, number>()
  private readonly retiring = new Set<string>()
  /** Acceptances being sent: their blocks' totals are not final yet. */
  private readonly sending = new Set<Trade>()

  constructor (
    private readonly ctx: TradeContext,
    readonly meter: OwnMeter,
    readonly policy: BuyerPolicy,
    private readonly ledger: LedgerCheck,
    private readonly onAnswer: () => void
  ) {
    for (const t of ctx.book.trades.values()) if (t.certificate !== undefined && t.acceptance.record.body.buyer === ctx.keys.id) this.certificates.add(t.certificate)
  }

  private mine (t: Trade): boolean { return t.acceptance.record.body.buyer === this.ctx.keys.id }

  /** Accepts `quantityWh` of an offer: signs, logs the offer with the acceptance, sends, logs the answer. */
  async accept (offerId: string, quantityWh: number): Promise<Answer> {
    const { ctx } = this
    const offer = ctx.book.offers.get(offerId)
    if (offer === undefined) throw new TradeError('unknown-offer', `no offer ${offerId} is known`)
    const o = offer.record.body
    if (!ctx.marketplaces.includes(o.marketplace)) throw new TradeError('not-a-member', `not in marketplace ${o.marketplace}`)
    if (ctx.clock.now() >= o.expiresAt) throw new TradeError('expired', 'the offer has expired')
    const overlap = [...ctx.book.trades.values()].find(t => this.mine(t) && t.answer?.record.type !== 'trade.refusal' && t.acceptance.record.body.buyerMeter === this.meter.id &&
      t.acceptance.record.body.block.start < o.block.end && o.block.start < t.acceptance.record.body.block.end &&
      (t.acceptance.record.body.block.start !== o.block.start || t.acceptance.record.body.block.end !== o.block.end))
    if (overlap !== undefined) throw new TradeError('overlapping-block', `trade ${overlap.id.slice(0, 12)}… holds an overlapping block of another length on our meter`)
    const acceptance = signRecord('trade.acceptance', {
      offer: offer.id, marketplace: o.marketplace, producer: o.producer, buyer: ctx.keys.id, buyerMeter: this.meter.id, block: o.block, quantityWh,
      price: o.price, loadCoupling: this.policy.loadCoupling, premiums: this.policy.premiums, nonce: randomBytes(16).toString('hex'), issuedAt: ctx.clock.now()
    }, ctx.keys)
    try {
      verifyRecord(acceptance.record)
    } catch (err) {
      throw new TradeError('bad-acceptance', (err as Error).message)
    }
    const key = String(o.block.start)
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + quantityWh)
    try {
      await persist(ctx, offer, acceptance)
      ctx.logger.info({ trade: acceptance.id, offer: offer.id, producer: o.producer, quantityWh }, 'offer accepted')
      return await this.send(ctx.book.get(acceptance.id)!)
    } finally {
      this.inFlight.set(key, this.inFlight.get(key)! - quantityWh)
    }
  }

  /** Sends an acceptance until the producer answers; the answer is idempotent on its side. */
  private async send (trade: Trade): Promise<Answer> {
    const { ctx } = this
    const a = trade.acceptance.record.body
    this.sending.add(trade)
    let reply: unknown
    try {
      reply = await retry(ctx, 'send acceptance', a.block.end, async () =>
        await call(ctx.net, peerIdOfParty(a.producer), PROTOCOL_TRADE_ACCEPT, trade.acceptance.record, TRADE_ACCEPT_LIMITS), this.abort.signal)
    } finally {
      this.sending.delete(trade)
    }
    const answer = verifyRecord(reply, ['trade.confirmation', 'trade.refusal'] as const) as Answer
    const b = answer.record.body
    if (b.acceptance !== trade.id || b.producer !== a.producer || b.buyer !== ctx.keys.id || b.offer !== a.offer) throw new TradeError('wrong-answer', 'the answer does not answer our acceptance')
    if (answer.record.type === 'trade.confirmation' && (b as { quantityWh: number }).quantityWh !== a.quantityWh) throw new TradeError('wrong-answer', 'the confirmation names another quantity')
    if (trade.answer === undefined) await persist(ctx, answer)
    const reason = (b as { reason?: string }).reason
    ctx.logger.info({ trade: trade.id, answer: answer.record.type, reason, remainingWh: (b as { remainingWh?: number }).remainingWh }, 'acceptance answered')
    this.onAnswer()
    return trade.answer ?? answer
  }

  /** Auto-buy: a verified offer from the offers topic, taken if the policy wants it. */
  async consider (offer: Verified<'trade.offer'>): Promise<void> {
    const { ctx } = this
    const o = offer.record.body
    const location = ownLocation(ctx)
    const auto = this.policy.autoBuy
    const bid = o.bid === undefined ? undefined : ctx.book.bids.get(o.bid)
    const answersOurBid = bid !== undefined && bid.record.body.buyer === ctx.keys.id
    if (o.producer === ctx.keys.id || location === undefined || (auto === undefined && !answersOurBid)) return
    const mismatch = offerMismatch(o, this.policy, location)
    if (mismatch !== undefined) return refused(ctx, `offer-${mismatch}`, { offer: offer.id }, 'offer filtered out by the buyer policy')
    let want: number
    if (answersOurBid) {
      const bidProblem = this.bidUnmet(bid.record.body, offer)
      if (bidProblem !== undefined) return refused(ctx, 'offer-bid-unmet', { offer: offer.id, bid: bid.id, detail: bidProblem }, 'offer does not meet our bid')
      want = Math.min(o.quantityWh, bid.record.body.quantityWh - this.boughtWh(o.block))
    } else {
      want = Math.min(o.quantityWh, auto!.maxWhPerBlock - this.boughtWh(o.block))
    }
    for (let attempt = 0; attempt < 2 && want > 0; attempt++) {
      const answer = await this.accept(offer.id, want)
      if (answer.record.type !== 'trade.refusal') return
      // Sold out for our quantity: take what is left, once.
      want = Math.min(want, answer.record.body.remainingWh)
    }
  }

  private bidUnmet (b: BidBody, offer: Verified<'trade.offer'>): string | undefined {
    const o = offer.record.body
    if (canonicalize(o.block) !== canonicalize(b.block)) return 'another block'
    if (o.price.currency !== b.price.currency || o.price.rate > b.price.rate) return 'a higher price'
    if (b.zeroCarbonOnly && o.generation.carbonClass !== 'zce') return 'not zero-carbon'
    if (b.sameFeederOnly && o.deliveryPoint.feeder !== b.deliveryPoint.feeder) return 'another feeder'
    return undefined
  }

  /** What we bought (confirmed or being accepted) for a block. */
  boughtWh (block: { start: number, end: number }): number {
    return this.ctx.book.blockWh(this.meter.id, block, 'bought') + (this.inFlight.get(String(block.start)) ?? 0)
  }

  /** Publishing a bid is the producer's cue; the matching offer comes back on the topic. */
  bidBody (params: BidParams): BidBody {
    const { ctx } = this
    const location = ownLocation(ctx)
    if (location === undefined) throw new TradeError('no-profile', 'our signed profile is not in the store yet')
    const problem = blockProblem(params.block)
    if (problem !== undefined) throw new TradeError('bad-block', problem)
    return {
      marketplace: params.marketplace, buyer: ctx.keys.id, meter: this.meter.id, block: params.block, quantityWh: params.quantityWh, price: params.price,
      deliveryPoint: location, loadCoupling: this.policy.loadCoupling, zeroCarbonOnly: params.zeroCarbonOnly, sameFeederOnly: params.sameFeederOnly,
      nonce: randomBytes(16).toString('hex'), issuedAt: ctx.clock.now(), expiresAt: params.expiresAt ?? params.block.start
    }
  }

  /** Handler of the settle stream: check the settlement and its certificate, countersign both or dispute. */
  async onSettlement (bytes: Uint8Array, remoteParty: string): Promise<{ settlement: Envelope, certificate: Envelope } | { dispute: Envelope }> {
    const { ctx } = this
    const { settlement, certificate } = parseSettleRequest(bytes)
    const s = settlement.record.body
    if (s.producer !== remoteParty) throw new RefusedError('signer-not-peer', 'settlement is signed by another party than the stream peer')
    const trade = ctx.book.get(s.acceptance)
    if (trade === undefined || !this.mine(trade) || trade.answer?.record.type !== 'trade.confirmation') throw new RefusedError('unknown-trade', 'no confirmed trade of ours has this acceptance')
    if (trade.dispute !== undefined) return { dispute: trade.dispute.record }
    if (trade.settlement !== undefined && trade.settlement.id !== settlement.id) {
      ctx.book.add(settlement)
      refused(ctx, 'equivocation', { trade: trade.id, first: trade.settlement.id, second: settlement.id }, 'equivocation: a second, different settlement for one trade')
    }
    if (trade.settlement?.record.sigs.length === 2 && trade.certificate?.record.sigs.length === 2) return { settlement: trade.settlement.record, certificate: trade.certificate.record }
    if (settlement.record.sigs.length !== 1 || certificate.record.sigs.length !== 1) throw new RefusedError('bad-settlement', 'expected a settlement and a certificate signed by the producer only')
    const block = trade.acceptance.record.body.block
    if (ctx.clock.now() < block.end) throw new RefusedError('not-yet', 'the block is not over')
    await this.meter.waitForReading(block.end, AbortSignal.timeout(REPLY_TIMEOUT_MS))
    let producerReadings: unknown[]
    try {
      const answer = await call(ctx.net, peerIdOfParty(s.producer), PROTOCOL_TRADE_READINGS, { acceptance: trade.id }, TRADE_READINGS_LIMITS)
      if (!ReadingsAnswer.Check(answer)) throw new Error('the readings answer is malformed')
      producerReadings = answer.readings
    } catch (err) {
      // Not a dispute: the producer retries, and we fetch again.
      throw new RefusedError('readings-unavailable', `could not fetch the producer's readings: ${(err as Error).message}`)
    }
    await ctx.peerReadings.put(trade.id, producerReadings)
    const ledger = await this.ledger.check(s)
    let verdict: { reason: TradeDisputeReason, detail: string } | undefined
    if (ledger.ok) verdict = this.verdict(trade, settlement, certificate, producerReadings, await this.meter.readings(block.start, block.end))
    else if (ledger.reason === 'unreachable') throw new RefusedError('ledger-unavailable', `could not check the producer's log: ${ledger.detail}`)
    else verdict = { reason: ledger.reason, detail: ledger.detail }
    if (verdict !== undefined) {
      const dispute = signRecord('trade.dispute', {
        settlement: settlement.id, acceptance: trade.id, offer: s.offer, by: ctx.keys.id, against: s.producer, reason: verdict.reason, detail: verdict.detail.slice(0, 512), issuedAt: ctx.clock.now()
      }, ctx.keys)
      await persist(ctx, settlement, certificate, dispute)
      refused(ctx, `dispute-${verdict.reason}`, { trade: trade.id, detail: verdict.detail }, 'trade settlement disputed')
      return { dispute: dispute.record }
    }
    const signed = countersign(settlement, ctx.keys)
    const cert = countersign(certificate, ctx.keys)
    await persist(ctx, signed, cert)
    this.certificates.add(cert)
    ctx.logger.info({ trade: trade.id, receivedWh: s.receivedWh, amount: s.amount, gridConnect: s.exergy.gridConnect.state }, 'trade settlement countersigned')
    return { settlement: signed.record, certificate: cert.record }
  }

  /** Why the settlement or its certificate cannot be countersigned, if they can't. */
  private verdict (trade: Trade, settlement: Verified<'trade.settlement'>, certificate: Verified<'trade.certificate'>, producerReadings: unknown[], buyerReadings: unknown[]): { reason: TradeDisputeReason, detail: string } | undefined {
    const { ctx } = this
    const a = trade.acceptance.record.body
    const check = checkTradeSettlement(settlement, {
      offer: ctx.book.offers.get(a.offer)!,
      acceptance: trade.acceptance,
      confirmation: trade.answer as Verified<'trade.confirmation'>,
      producerReadings,
      buyerReadings,
      buyerBlockWh: ctx.book.blockWh(this.meter.id, a.block, 'bought'),
      buyerLocation: ownLocation(ctx)!
    })
    if (!check.ok) return check
    const problem = certificateProblem(certificate, settlement)
    if (problem !== undefined) return { reason: 'certificate-mismatch', detail: problem }
    const fault = this.certificates.refuse(certificate)
    return fault === undefined ? undefined : { reason: 'double-certification', detail: `${fault.kind}: ${fault.detail}` }
  }

  /** Retires a certificate we hold (consumption): once; a second attempt is refused. */
  async retire (certificateId: string): Promise<Verified<'trade.retirement'>> {
    const { ctx } = this
    const trade = ctx.book.tradeOfCertificate(certificateId)
    if (trade === undefined || !this.mine(trade)) throw new TradeError('unknown-certificate', `we hold no certificate ${certificateId}`)
    if (trade.certificate?.id !== certificateId || trade.certificate.record.sigs.length !== 2) throw new TradeError('not-countersigned', 'only a countersigned certificate can be retired')
    if (trade.retirement !== undefined || this.retiring.has(certificateId)) {
      refused(ctx, 'already-retired', { certificate: certificateId, retirement: trade.retirement?.id }, 'refused a second retirement')
      throw new TradeError('already-retired', `certificate ${certificateId} is already retired${trade.retirement !== undefined ? ` by ${trade.retirement.id}` : ''}`)
    }
    this.retiring.add(certificateId)
    try {
      const retirement = signRecord('trade.retirement', { certificate: certificateId, producer: trade.certificate.record.body.producer, by: ctx.keys.id, purpose: 'consumption', issuedAt: ctx.clock.now() }, ctx.keys)
      await persist(ctx, retirement)
      ctx.logger.info({ certificate: certificateId, retirement: retirement.id, certifiedWh: trade.certificate.record.body.certifiedWh }, 'certificate retired')
      void this.deliverRetirement(retirement)
      return retirement
    } finally {
      this.retiring.delete(certificateId)
    }
  }

  /** The producer keeps the retirement in its log too; it answers a repeat of the same one alike. */
  private async deliverRetirement (r: Verified<'trade.retirement'>): Promise<void> {
    const { ctx } = this
    try {
      await retry(ctx, 'deliver retirement', ctx.clock.now() + 24 * 3_600_000, async () =>
        await call(ctx.net, peerIdOfParty(r.record.body.producer), PROTOCOL_TRADE_RETIRE, r.record, TRADE_RETIRE_LIMITS), this.abort.signal)
    } catch (err) {
      ctx.logger.warn({ retirement: r.id, err: (err as Error).message }, 'retirement not delivered to the producer')
    }
  }

  /**
   * Whether our total for a block is final: no acceptance of it is still being sent (a send
   * gives up when the block ends, so an acceptance never answered by then never counts).
   */
  blockDecided (block: { start: number, end: number }): boolean {
    return ![...this.sending].some(t => t.acceptance.record.body.block.start === block.start && t.acceptance.record.body.block.end === block.end)
  }

  /** After a restart: ask again for every unanswered acceptance; deliver our retirements again. */
  resume (): void {
    for (const t of this.ctx.book.trades.values()) {
      if (!this.mine(t)) continue
      if (t.answer === undefined) void this.send(t).catch(err => this.ctx.logger.warn({ trade: t.id, err: (err as Error).message }, 'acceptance unanswered'))
      if (t.retirement !== undefined) void this.deliverRetirement(t.retirement)
    }
  }

  stop (): void { this.abort.abort() }
}
