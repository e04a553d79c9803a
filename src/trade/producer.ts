// The producer's side of a trade: publish signed offers on the marketplace's offers topic, decide
// acceptances one at a time (never selling an offer beyond its quantity) with a signed
// confirmation or refusal, then after the block sign the settlement from both meters and the
// certificate it yields, get both countersigned, and keep the buyer's retirement.
import { randomBytes } from 'node:crypto'
import { decodeRecord, signRecord, verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import type { LoadCoupling, OfferBody, TradePrice, TradeRefusalReason } from '../records/trade-schemas.js'
import { blockProblem } from '../records/trade-schemas.js'
import { RefusedError, call } from '../net/rpc.js'
import { PROTOCOL_TRADE_READINGS, PROTOCOL_TRADE_SETTLE } from '../net/protocol-ids.js'
import { TRADE_READINGS_LIMITS, TRADE_SETTLE_LIMITS } from '../grid/limits.js'
import { peerIdOfParty } from '../identity/peer.js'
import { canonicalize } from '../records/canonical.js'
import type { Ledger } from '../ledger/ledger.js'
import type { Trade } from './book.js'
import { withUnboundedListeners } from '../grid/context.js'
import { TradeError, ownLocation, persist, refused, retry, type OwnMeter, type TradeContext } from './context.js'
import type { ProducerPolicy } from './policy.js'
import { admitTrader } from './admission.js'
import { bidMismatch, couplingFits } from './filters.js'
import { certificateOf, computeTradeSettlement } from './delivery.js'
import { CertificateRegistry } from './certificates.js'
import { parseSettleAnswer } from './settle-messages.js'
import type { OfferChannel } from './offer-channel.js'

export interface OfferParams {
  marketplace: string
  block: { start: number, end: number }
  quantityWh: number
  price: TradePrice
  forCoupling?: LoadCoupling
  expiresAt?: number
}

interface ReadingsAnswer { readings?: unknown, blockWh?: unknown }

/** Settlement has no natural deadline; a day of retries bounds it. */
const SETTLE_RETRY_MS = 24 * 3_600_000

export class Producer {
  readonly certificates = new CertificateRegistry()
  private readonly abort = withUnboundedListeners(new AbortController())
  private readonly pending = new Map<string, { offer: string, wh: number }>()
  private readonly deciding = new Map<string, Promise<Envelope>>()
  private readonly running = new Set<string>()

  constructor (
    private readonly ctx: TradeContext,
    private readonly channel: OfferChannel,
    private readonly ledger: Ledger,
    readonly meter: OwnMeter,
    readonly policy: ProducerPolicy
  ) {
    for (const t of ctx.book.trades.values()) if (t.certificate !== undefined && this.mine(t)) this.certificates.add(t.certificate)
  }

  private mine (t: Trade): boolean { return t.acceptance.record.body.producer === this.ctx.keys.id }

  /** Signs an offer (answering `bid` if given), logs it and publishes it on the offers topic. */
  async publish (params: OfferParams, bid?: Verified<'trade.bid'>): Promise<Verified<'trade.offer'>> {
    const { ctx } = this
    const now = ctx.clock.now()
    const location = ownLocation(ctx)
    if (!ctx.marketplaces.includes(params.marketplace)) throw new TradeError('not-a-member', `not in marketplace ${params.marketplace}`)
    if (location === undefined) throw new TradeError('no-profile', 'our signed profile is not in the store yet')
    const problem = blockProblem(params.block)
    if (problem !== undefined) throw new TradeError('bad-block', problem)
    if (params.block.start <= now) throw new TradeError('block-started', 'the block has already started')
    const overlap = [...ctx.book.offers.values()].find(o => o.record.body.producer === ctx.keys.id && o.record.body.meter === this.meter.id &&
      o.record.body.block.start < params.block.end && params.block.start < o.record.body.block.end && canonicalize(o.record.body.block) !== canonicalize(params.block))
    // One meter's intervals are sold whole or not at all, so certificates never overlap partly.
    if (overlap !== undefined) throw new TradeError('overlapping-block', `offer ${overlap.id.slice(0, 12)}… sells an overlapping block of another length from this meter`)
    const self = await admitTrader(ctx.directory, now, params.marketplace, ctx.keys.id, 'offer', this.meter.id)
    if (!self.ok) throw new TradeError('not-admitted', `we may not offer in this marketplace: ${self.reason}: ${self.detail}`)
    if (this.channel.subscribers(params.marketplace) === 0) throw new TradeError('no-subscribers', 'no peer subscribes to the offers topic yet; wait for the mesh')
    const body: OfferBody = {
      marketplace: params.marketplace, producer: ctx.keys.id, meter: this.meter.id, block: params.block, quantityWh: params.quantityWh, price: params.price,
      deliveryPoint: location, generation: this.policy.nameplate.generation, derCategory: this.policy.nameplate.derCategory,
      ...(params.forCoupling !== undefined ? { forCoupling: params.forCoupling } : {}),
      ...(bid !== undefined ? { bid: bid.id } : {}),
      nonce: randomBytes(16).toString('hex'), issuedAt: now, expiresAt: params.expiresAt ?? params.block.start
    }
    const offer = signRecord('trade.offer', body, ctx.keys)
    try {
      verifyRecord(offer.record)
    } catch (err) {
      throw new TradeError('bad-offer', (err as Error).message)
    }
    await persist(ctx, ...(bid !== undefined ? [bid] : []), offer)
    const recipients = await this.channel.publish(offer)
    ctx.logger.info({ offer: offer.id, block: body.block, quantityWh: body.quantityWh, rate: body.price.rate, recipients, bid: bid?.id }, 'offer published')
    return offer
  }

  /** Answers a bid on the offers topic with an offer at the bid's terms, when the policy takes it. */
  async answerBid (bid: Verified<'trade.bid'>): Promise<void> {
    const { ctx } = this
    const b = bid.record.body
    const location = ownLocation(ctx)
    if (this.policy.answerBids === undefined || location === undefined || b.buyer === ctx.keys.id) return
    if ([...ctx.book.offers.values()].some(o => o.record.body.bid === bid.id && o.record.body.producer === ctx.keys.id)) return
    const mismatch = bidMismatch(b, this.policy, location)
    if (mismatch !== undefined) return refused(ctx, `bid-${mismatch}`, { bid: bid.id }, 'bid not answered')
    await this.publish({ marketplace: b.marketplace, block: b.block, quantityWh: b.quantityWh, price: b.price, expiresAt: b.expiresAt }, bid)
  }

  /** Handler of the accept stream: one acceptance in, one signed confirmation or refusal out. */
  async onAcceptance (bytes: Uint8Array, remoteParty: string): Promise<Envelope> {
    const { ctx } = this
    const acceptance = decodeRecord(bytes, ['trade.acceptance'] as const)
    const a = acceptance.record.body
    if (a.buyer !== remoteParty) throw new RefusedError('signer-not-peer', 'acceptance is signed by another party than the stream peer')
    if (a.producer !== ctx.keys.id) throw new RefusedError('wrong-producer', 'acceptance names another producer')
    const existing = ctx.book.get(acceptance.id)?.answer
    if (existing !== undefined) return existing.record
    // A retry racing its first copy waits for the same answer instead of getting a second one.
    const inFlight = this.deciding.get(acceptance.id)
    if (inFlight !== undefined) return await inFlight
    const decision = this.decide(acceptance)
    this.deciding.set(acceptance.id, decision)
    try {
      return await decision
    } finally {
      this.deciding.delete(acceptance.id)
    }
  }

  private async answer (acceptance: Verified<'trade.acceptance'>, reason: TradeRefusalReason | undefined, detail: string, remainingWh: number): Promise<Envelope> {
    const { ctx } = this
    const a = acceptance.record.body
    const common = { acceptance: acceptance.id, offer: a.offer, producer: ctx.keys.id, buyer: a.buyer, issuedAt: ctx.clock.now() }
    const answer = reason === undefined
      ? signRecord('trade.confirmation', { ...common, quantityWh: a.quantityWh }, ctx.keys)
      : signRecord('trade.refusal', { ...common, reason, remainingWh, detail: detail.slice(0, 512) }, ctx.keys)
    await persist(ctx, acceptance, answer)
    if (reason !== undefined) refused(ctx, `acceptance-${reason}`, { trade: acceptance.id, buyer: a.buyer, quantityWh: a.quantityWh, remainingWh, detail }, 'acceptance refused')
    else ctx.logger.info({ trade: acceptance.id, buyer: a.buyer, quantityWh: a.quantityWh, remainingWh }, 'acceptance confirmed')
    if (reason === undefined) void this.drive(ctx.book.get(acceptance.id)!)
    return answer.record
  }

  private remaining (offer: Verified<'trade.offer'>): number {
    let pending = 0
    for (const p of this.pending.values()) if (p.offer === offer.id) pending += p.wh
    return offer.record.body.quantityWh - this.ctx.book.confirmedWh(offer.id) - pending
  }

  private async decide (acceptance: Verified<'trade.acceptance'>): Promise<Envelope> {
    const { ctx } = this
    const a = acceptance.record.body
    const offer = ctx.book.offers.get(a.offer)
    if (offer === undefined || offer.record.body.producer !== ctx.keys.id || !ctx.log.has(offer.id)) return await this.answer(acceptance, 'unknown-offer', 'no offer of ours has this id', 0)
    const o = offer.record.body
    if (a.marketplace !== o.marketplace || canonicalize(a.block) !== canonicalize(o.block) || canonicalize(a.price) !== canonicalize(o.price)) return await this.answer(acceptance, 'terms-mismatch', 'the acceptance repeats other terms than the offer\'s', this.remaining(offer))
    if (ctx.clock.now() >= o.expiresAt) return await this.answer(acceptance, 'expired', `the offer expired at ${new Date(o.expiresAt).toISOString()}`, 0)
    if (!couplingFits(o.forCoupling, a.loadCoupling)) return await this.answer(acceptance, 'coupling-mismatch', `the offer serves ${o.forCoupling!.class}${o.forCoupling!.subclass !== undefined ? `/${o.forCoupling!.subclass}` : ''} loads`, this.remaining(offer))
    const admission = await admitTrader(ctx.directory, ctx.clock.now(), o.marketplace, a.buyer, 'buy', a.buyerMeter)
    if (!admission.ok) return await this.answer(acceptance, admission.reason === 'meter-not-bound' ? 'meter-not-bound' : 'not-admitted', `${admission.reason}: ${admission.detail}`, this.remaining(offer))
    // The check and the reservation below run without an await between them, so concurrent
    // acceptances can never take an offer beyond its quantity.
    const remaining = this.remaining(offer)
    if (a.quantityWh > remaining) return await this.answer(acceptance, 'sold-out', `${remaining} Wh remain of ${o.quantityWh}`, remaining)
    this.pending.set(acceptance.id, { offer: offer.id, wh: a.quantityWh })
    try {
      return await this.answer(acceptance, undefined, '', remaining - a.quantityWh)
    } finally {
      this.pending.delete(acceptance.id)
    }
  }

  /** Carries a confirmed trade to its end: settle after the block, get it countersigned. Also the restart path. */
  async drive (trade: Trade): Promise<void> {
    if (this.running.has(trade.id)) return
    this.running.add(trade.id)
    try {
      const status = this.ctx.book.status(trade)
      if (status !== 'confirmed' && status !== 'settling') return
      await this.settle(trade)
    } catch (err) {
      if (!this.abort.signal.aborted) refused(this.ctx, 'settlement-stalled', { trade: trade.id, err: (err as Error).message }, 'trade settlement stalled')
    } finally {
      this.running.delete(trade.id)
    }
  }

  private async settle (trade: Trade): Promise<void> {
    const { ctx } = this
    const a = trade.acceptance.record.body
    const offer = ctx.book.offers.get(a.offer)!
    if (trade.settlement === undefined) {
      await ctx.clock.until(a.block.end, this.abort.signal)
      await this.meter.waitForReading(a.block.end, this.abort.signal)
      const own = await this.meter.readings(a.block.start, a.block.end)
      const theirs = await retry(ctx, 'fetch buyer readings', a.block.end + SETTLE_RETRY_MS, async () => {
        const answer = await call(ctx.net, peerIdOfParty(a.buyer), PROTOCOL_TRADE_READINGS, { acceptance: trade.id }, TRADE_READINGS_LIMITS) as ReadingsAnswer
        if (!Array.isArray(answer.readings) || !Number.isSafeInteger(answer.blockWh)) throw new Error('the readings answer is malformed')
        return { readings: answer.readings as unknown[], blockWh: answer.blockWh as number }
      }, this.abort.signal)
      const buyerCheckpoint = await retry(ctx, 'exchange checkpoints', a.block.end + SETTLE_RETRY_MS, async () => {
        const x = await this.ledger.exchange(a.buyer)
        if (!x.ok && x.reason === 'unreachable') throw new Error(x.detail)
        return x
      }, this.abort.signal)
      if (!buyerCheckpoint.ok) throw new Error(`the buyer's log: ${buyerCheckpoint.reason}: ${buyerCheckpoint.detail}`)
      const buyerLocation = ctx.directory.store.profiles.get(a.buyer)?.record.body.location
      if (buyerLocation === undefined) throw new Error('no profile of the buyer')
      const computed = computeTradeSettlement({
        offer, acceptance: trade.acceptance, confirmation: trade.answer as Verified<'trade.confirmation'>,
        producerReadings: own, buyerReadings: theirs.readings,
        producerBlockWh: ctx.book.blockWh(this.meter.id, a.block, 'sold'), buyerBlockWh: theirs.blockWh, buyerLocation,
        ledger: { producer: this.ledger.ours(), buyer: buyerCheckpoint.theirs }, issuedAt: ctx.clock.now()
      })
      if (!computed.ok) throw new Error(`cannot settle from the meters: ${computed.reason}: ${computed.detail}`)
      await ctx.peerReadings.put(trade.id, theirs.readings)
      const settlement = signRecord('trade.settlement', computed.body, ctx.keys)
      await persist(ctx, settlement, this.certify(trade, settlement))
      ctx.logger.info({ trade: trade.id, deliveredWh: computed.body.deliveredWh, receivedWh: computed.body.receivedWh, amount: computed.body.amount, gridConnect: computed.body.exergy.gridConnect.state }, 'trade settlement signed')
    }
    const settlement = trade.settlement!
    // A crash between the two appends leaves the settlement alone: certify it now.
    if (trade.certificate === undefined) await persist(ctx, this.certify(trade, settlement))
    const request = { settlement: settlement.record, certificate: trade.certificate!.record }
    const reply = parseSettleAnswer(await retry(ctx, 'send trade settlement', ctx.clock.now() + SETTLE_RETRY_MS, async () =>
      await call(ctx.net, peerIdOfParty(a.buyer), PROTOCOL_TRADE_SETTLE, request, TRADE_SETTLE_LIMITS), this.abort.signal))
    if ('dispute' in reply) {
      const d = reply.dispute.record.body
      if (d.settlement !== settlement.id || d.by !== a.buyer || d.acceptance !== trade.id) throw new Error('the dispute does not dispute our settlement')
      await persist(ctx, reply.dispute)
      refused(ctx, `disputed-${d.reason}`, { trade: trade.id, detail: d.detail }, 'trade settlement disputed by the buyer')
      return
    }
    if (reply.settlement.id !== settlement.id || reply.settlement.record.sigs.length !== 2 || reply.certificate.id !== trade.certificate!.id || reply.certificate.record.sigs.length !== 2) {
      throw new Error('the countersigned settlement or certificate does not match ours')
    }
    await persist(ctx, reply.settlement, reply.certificate)
    this.certificates.add(reply.certificate)
    ctx.logger.info({ trade: trade.id, settlement: settlement.id, certificate: reply.certificate.id }, 'trade settlement countersigned')
  }

  /** The certificate a settlement yields, signed unless it would certify metered energy twice. */
  private certify (trade: Trade, settlement: Verified<'trade.settlement'>): Verified<'trade.certificate'> {
    const certificate = signRecord('trade.certificate', certificateOf(settlement, this.ctx.clock.now()), this.ctx.keys)
    const fault = this.certificates.refuse(certificate)
    if (fault !== undefined) {
      refused(this.ctx, 'double-certification', { trade: trade.id, kind: fault.kind, detail: fault.detail }, 'refused to certify a metered interval twice')
      throw new Error(`refused to certify: ${fault.kind}: ${fault.detail}`)
    }
    this.certificates.add(certificate)
    return certificate
  }

  /** Handler of the retire stream: the buyer's retirement of a certificate we signed; a second, different one is refused. */
  async onRetirement (bytes: Uint8Array, remoteParty: string): Promise<{ ok: true }> {
    const { ctx } = this
    const r = decodeRecord(bytes, ['trade.retirement'] as const)
    if (r.record.body.by !== remoteParty) throw new RefusedError('signer-not-peer', 'retirement is signed by another party than the stream peer')
    const trade = ctx.book.tradeOfCertificate(r.record.body.certificate)
    if (trade === undefined || !this.mine(trade) || trade.acceptance.record.body.buyer !== remoteParty || r.record.body.producer !== ctx.keys.id) throw new RefusedError('unknown-certificate', 'no certificate of ours to this buyer has this id')
    if (trade.retirement !== undefined && trade.retirement.id !== r.id) {
      // Kept as evidence: both retirements, signed by the buyer, show the double retirement.
      await persist(ctx, r)
      refused(ctx, 'double-retirement', { certificate: r.record.body.certificate, first: trade.retirement.id, second: r.id }, 'refused a second retirement of one certificate')
      throw new RefusedError('already-retired', `certificate retired by ${trade.retirement.id}`)
    }
    await persist(ctx, r)
    return { ok: true }
  }

  /** After a restart: settle every confirmed trade the log shows unfinished. */
  resume (): void {
    for (const t of this.ctx.book.trades.values()) if (this.mine(t)) void this.drive(t)
  }

  stop (): void { this.abort.abort() }
}
