// Peer-to-peer energy trade on a node: replays the trade records of its log, joins each
// marketplace's offers topic, runs the producer side (with a meter and a nameplate), the buyer
// side (with a meter and a buyer policy) and an EV site's smart charger, and serves the trade
// streams. Data flows net → records → trade → meter → log → net, as for grid services.
import type { PairgridNode } from '../node/node.js'
import { readKeyFile } from '../identity/keyfile.js'
import { dataPaths } from '../node/data-dir.js'
import { serve, RefusedError } from '../net/rpc.js'
import { PROTOCOL_TRADE_ACCEPT, PROTOCOL_TRADE_READINGS, PROTOCOL_TRADE_RETIRE, PROTOCOL_TRADE_SETTLE, offerTopic } from '../net/protocol-ids.js'
import { TRADE_ACCEPT_LIMITS, TRADE_READINGS_LIMITS, TRADE_RETIRE_LIMITS, TRADE_SETTLE_LIMITS } from '../grid/limits.js'
import { signRecord, verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import { TradeBook, type Trade } from './book.js'
import { TradeError, persist, type OwnMeter, type TradeContext } from './context.js'
import { readTradeConfig } from './policy.js'
import { OfferChannel, type MarketRecord } from './offer-channel.js'
import { admitTrader } from './admission.js'
import { Producer } from './producer.js'
import { Buyer, type BidParams } from './buyer.js'
import { LedgerCheck } from './ledger-check.js'
import { EvSiteRuntime } from './ev-site.js'
import { EvCharging } from './ev-charging.js'
import { PeerReadings } from './peer-readings.js'
import { netPositions, type NetPositions } from './net-position.js'
import { makeTradeBundle, type TradeBundle, type TradeBundleSummary } from './bundle.js'
import { parseReadingsQuery, REPLY_TIMEOUT_MS } from './settle-messages.js'

/** Wall ms between upkeep rounds: republishing open offers to new subscribers, re-planning, pruning. */
const UPKEEP_MS = 1_000
/** Gossiped offers and bids are forgotten this long (simulated) after they expire. */
const FORGET_AFTER_MS = 3_600_000

export interface TradeView extends Pick<TradeBundleSummary, 'deliveredWh' | 'receivedWh' | 'amount' | 'gridConnect' | 'certificate'> {
  id: string
  offer: string
  marketplace: string
  role: 'producer' | 'buyer'
  counterparty: string
  status: string
  block: { start: number, end: number }
  quantityWh: number
  rate: number
  currency: string
  refusal?: string
  retired?: boolean
  dispute?: string
}

export class TradeService {
  private timer: NodeJS.Timeout | undefined
  private readonly published = new Map<string, number>()

  constructor (
    private readonly node: PairgridNode,
    readonly ctx: TradeContext,
    readonly channel: OfferChannel,
    readonly producer: Producer | undefined,
    readonly buyer: Buyer | undefined,
    readonly ev: EvCharging | undefined,
    private readonly site: EvSiteRuntime | undefined
  ) {}

  get book (): TradeBook { return this.ctx.book }

  onMarketRecord (v: MarketRecord): void {
    const { ctx } = this
    ctx.book.add(v)
    const fail = (err: Error): void => ctx.logger.warn({ record: v.id, err: err.message }, 'could not act on a gossiped trade record')
    if (v.record.type === 'trade.bid') {
      void this.producer?.answerBid(v as Verified<'trade.bid'>).catch(fail)
      return
    }
    void this.buyer?.consider(v as Verified<'trade.offer'>).catch(fail)
    this.ev?.replan()
  }

  /** Handler of the readings stream: our meter's readings over a trade's block, to the trade's counterparty only. */
  async onReadings (bytes: Uint8Array, remoteParty: string): Promise<{ readings: Envelope[], blockWh: number }> {
    const { ctx } = this
    const trade = ctx.book.get(parseReadingsQuery(bytes))
    const meter = ctx.meter
    if (trade === undefined || meter === undefined || trade.answer?.record.type !== 'trade.confirmation') throw new RefusedError('unknown-trade', 'no confirmed trade of ours has this acceptance')
    const a = trade.acceptance.record.body
    const producing = a.producer === ctx.keys.id
    if ((producing ? a.buyer : a.producer) !== remoteParty || (!producing && a.buyer !== ctx.keys.id)) throw new RefusedError('unauthorised', 'only the trade\'s counterparty may fetch our readings')
    if (ctx.clock.now() < a.block.end) throw new RefusedError('not-yet', 'the block is not over')
    // A buyer's block total is final once no acceptance of the block is still being sent.
    if (!producing && this.buyer?.blockDecided(a.block) === false) throw new RefusedError('not-yet', 'acceptances of this block are still unanswered')
    await meter.waitForReading(a.block.end, AbortSignal.timeout(REPLY_TIMEOUT_MS))
    return { readings: await meter.readings(a.block.start, a.block.end), blockWh: ctx.book.blockWh(meter.id, a.block, producing ? 'sold' : 'bought') }
  }

  /** Signs a bid, logs it and publishes it on the offers topic; producers answer with offers. */
  async publishBid (params: BidParams): Promise<Verified<'trade.bid'>> {
    const { ctx } = this
    if (this.buyer === undefined) throw new TradeError('not-a-buyer', 'this node has no buyer policy (trade.json "buyer")')
    if (!ctx.marketplaces.includes(params.marketplace)) throw new TradeError('not-a-member', `not in marketplace ${params.marketplace}`)
    const bid = signRecord('trade.bid', this.buyer.bidBody(params), ctx.keys)
    try {
      verifyRecord(bid.record)
    } catch (err) {
      throw new TradeError('bad-bid', (err as Error).message)
    }
    if (this.channel.subscribers(params.marketplace) === 0) throw new TradeError('no-subscribers', 'no peer subscribes to the offers topic yet; wait for the mesh')
    await persist(ctx, bid)
    const recipients = await this.channel.publish(bid)
    ctx.logger.info({ bid: bid.id, block: params.block, quantityWh: params.quantityWh, rate: params.price.rate, recipients }, 'bid published')
    return bid
  }

  view (t: Trade): TradeView {
    const a = t.acceptance.record.body
    const producing = a.producer === this.ctx.keys.id
    const s = t.settlement?.record.body
    const answer = t.answer?.record.body as { reason?: string } | undefined
    return {
      id: t.id, offer: a.offer, marketplace: a.marketplace, role: producing ? 'producer' : 'buyer', counterparty: producing ? a.buyer : a.producer,
      status: this.book.status(t), block: a.block, quantityWh: a.quantityWh, rate: a.price.rate, currency: a.price.currency,
      ...(answer?.reason !== undefined ? { refusal: answer.reason } : {}),
      ...(s !== undefined ? { deliveredWh: s.deliveredWh, receivedWh: s.receivedWh, amount: s.amount, gridConnect: s.exergy.gridConnect.state } : {}),
      ...(t.certificate !== undefined ? { certificate: t.certificate.id, retired: t.retirement !== undefined } : {}),
      ...(t.dispute !== undefined ? { dispute: `${t.dispute.record.body.reason}: ${t.dispute.record.body.detail}` } : {})
    }
  }

  trades (): TradeView[] { return [...this.book.trades.values()].map(t => this.view(t)) }

  async bundle (id: string): Promise<TradeBundle | undefined> {
    const t = this.book.get(id)
    if (t === undefined) return undefined
    const a = t.acceptance.record.body
    const producing = a.producer === this.ctx.keys.id
    let own: Envelope[] = []
    let theirs: Envelope[] = []
    if (t.settlement !== undefined && this.ctx.meter !== undefined) {
      own = await this.ctx.meter.readings(a.block.start, a.block.end)
      theirs = await this.ctx.peerReadings.get(t.id)
    }
    const store = this.node.credentials
    return makeTradeBundle(t.id, this.book.chain(t), producing ? own : theirs, producing ? theirs : own, [...store.credentialsOf(a.producer), ...store.credentialsOf(a.buyer)], this.ctx.keys.id, this.ctx.clock.now())
  }

  position (): NetPositions { return netPositions(this.ctx.keys.id, this.node.book, this.book) }

  status (): Record<string, unknown> {
    const self = this.ctx.keys.id
    const counts: Record<string, number> = {}
    const certificates = { issued: 0, held: 0, retired: 0 }
    for (const t of this.book.trades.values()) {
      const role = t.acceptance.record.body.producer === self ? 'producer' : 'buyer'
      const key = `${role}:${this.book.status(t)}`
      counts[key] = (counts[key] ?? 0) + 1
      if (t.certificate?.record.sigs.length === 2) {
        if (role === 'producer') certificates.issued++
        else certificates.held++
        if (t.retirement !== undefined) certificates.retired++
      }
    }
    const now = this.ctx.clock.now()
    return {
      meter: this.ctx.meter?.id,
      roles: { producer: this.producer !== undefined, buyer: this.buyer !== undefined, evSite: this.ev !== undefined },
      offers: { ours: [...this.book.offers.values()].filter(o => o.record.body.producer === self && o.record.body.expiresAt > now).length, known: this.book.offers.size },
      trades: counts,
      certificates,
      netPosition: this.position(),
      ev: this.ev === undefined ? undefined : { ...this.ev.status(), chargingW: this.site?.chargingW },
      refusals: this.ctx.refusals,
      gossip: this.channel.stats,
      equivocations: this.book.equivocations
    }
  }

  /** Publishes our open offers again where the offers topic has gained subscribers (gossip has no replay). */
  private async upkeep (): Promise<void> {
    const { ctx } = this
    const now = ctx.clock.now()
    for (const m of ctx.marketplaces) {
      const subscribers = this.channel.subscribers(m)
      if (subscribers <= (this.published.get(m) ?? 0)) continue
      // A publish refused (gossip still remembers the record, or no mesh yet) is tried again next round.
      let all = true
      for (const o of ctx.book.offers.values()) {
        if (o.record.body.producer === ctx.keys.id && o.record.body.marketplace === m && o.record.body.expiresAt > now) await this.channel.publish(o).catch(() => { all = false })
      }
      if (all) this.published.set(m, subscribers)
    }
    ctx.book.prune(now - FORGET_AFTER_MS, id => ctx.log.has(id))
    this.ev?.replan()
  }

  start (): void {
    this.producer?.resume()
    this.buyer?.resume()
    this.timer = setInterval(() => { void this.upkeep().catch(err => this.ctx.logger.warn({ err: (err as Error).message }, 'trade upkeep failed')) }, UPKEEP_MS)
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.producer?.stop()
    this.buyer?.stop()
    await this.site?.stop()
  }
}

/** The node's own meter: its building's, or (an EV site) one this module runs. */
async function ownMeter (node: PairgridNode, evCharger: (t: number) => number, chargerState: () => unknown, baseW: number | undefined): Promise<{ meter?: OwnMeter, site?: EvSiteRuntime, restored?: unknown }> {
  if (node.building !== undefined) {
    const port = node.building.port
    return { meter: { id: port.meterId, readings: port.readings, waitForReading: port.waitForReading } }
  }
  if (baseW === undefined) return {}
  const { site, chargerState: restored } = await EvSiteRuntime.start({
    meterKeys: await readKeyFile(dataPaths(node.dir).meterKey), clock: node.clock, db: node.db, meterIntervalMs: node.config.meterIntervalMs,
    baseW, chargeW: evCharger, chargerState, logger: node.logger
  })
  return { meter: site, site, restored }
}

export async function startTrade (node: PairgridNode): Promise<TradeService> {
  const config = await readTradeConfig(node.dir)
  const book = new TradeBook()
  for await (const e of node.log.all()) book.add({ id: e.id, record: e.record })
  let charging: EvCharging | undefined
  const own = await ownMeter(node, t => charging?.chargeW(t) ?? 0, () => charging?.state(), config.ev?.baseW)
  const ctx: TradeContext = {
    keys: node.keys, log: node.log, book, clock: node.clock, net: node.net, logger: node.logger.child({ module: 'trade' }), directory: node.directory,
    config, marketplaces: node.config.marketplaces, peerReadings: new PeerReadings(node.db), refusals: {}, ...(own.meter !== undefined ? { meter: own.meter } : {})
  }
  let service: TradeService | undefined
  const channel = new OfferChannel(node.net, node.clock, ctx.logger, id => book.offers.has(id) || book.bids.has(id), async (v) => {
    const b = v.record.body
    const [party, action] = 'producer' in b ? [b.producer, 'offer' as const] : [b.buyer, 'buy' as const]
    const verdict = await admitTrader(node.directory, node.clock.now(), b.marketplace, party, action, b.meter, b.deliveryPoint)
    return verdict.ok ? { ok: true } : verdict
  }, v => service?.onMarketRecord(v))
  for (const m of node.config.marketplaces) channel.join(m)
  const meter = ctx.meter
  const producer = config.producer !== undefined && meter !== undefined ? new Producer(ctx, channel, node.ledger, meter, config.producer) : undefined
  const buyer = config.buyer !== undefined && meter !== undefined
    ? new Buyer(ctx, meter, config.buyer, new LedgerCheck(node.ledger, node.log), () => charging?.replan())
    : undefined
  if (config.ev !== undefined && buyer !== undefined) charging = new EvCharging(ctx, buyer, config.ev, own.restored)
  service = new TradeService(node, ctx, channel, producer, buyer, charging, own.site)
  const stats = node.rpcStats
  if (producer !== undefined) {
    await serve(node.net, PROTOCOL_TRADE_ACCEPT, TRADE_ACCEPT_LIMITS, async (bytes, party) => await producer.onAcceptance(bytes, party), ctx.logger, stats)
    await serve(node.net, PROTOCOL_TRADE_RETIRE, TRADE_RETIRE_LIMITS, async (bytes, party) => await producer.onRetirement(bytes, party), ctx.logger, stats)
  }
  if (buyer !== undefined) await serve(node.net, PROTOCOL_TRADE_SETTLE, TRADE_SETTLE_LIMITS, async (bytes, party) => await buyer.onSettlement(bytes, party), ctx.logger, stats)
  if (meter !== undefined) await serve(node.net, PROTOCOL_TRADE_READINGS, TRADE_READINGS_LIMITS, async (bytes, party) => await service!.onReadings(bytes, party), ctx.logger, stats)
  service.start()
  ctx.logger.info({ producer: producer !== undefined, buyer: buyer !== undefined, evSite: charging !== undefined, meter: meter?.id, topics: node.config.marketplaces.map(offerTopic), trades: book.trades.size }, 'trade started')
  return service
}
