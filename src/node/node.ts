// One party's node: opens its log, replays it into the transaction book, joins its marketplaces
// and serves its stream protocols. Data flows net → records → grid → building/meter → log → net.
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { readKeyFile } from '../identity/keyfile.js'
import { libp2pPrivateKey } from '../identity/peer.js'
import { openDb, type NodeDb } from '../log/db.js'
import { RecordLog } from '../log/record-log.js'
import { makeBundle, type AuditBundle } from '../log/bundle.js'
import { createNet, type PairgridLibp2p } from '../net/libp2p.js'
import { RequestChannel } from '../net/gossip.js'
import { closeKeptStreams, serve, type RpcStats } from '../net/rpc.js'
import { PROTOCOL_COMMIT, PROTOCOL_REGULATION, PROTOCOL_SETTLE, PROTOCOL_SIGNALS, PROTOCOL_TELEMETRY } from '../net/protocol-ids.js'
import { serveMessages } from '../net/message-stream.js'
import { TransactionBook, type Tx } from '../grid/book.js'
import { Requester } from '../grid/requester.js'
import { Provider } from '../grid/provider.js'
import { MarketProviders } from '../grid/commit-waves.js'
import { COMMIT_LIMITS, REGULATION_LIMITS, SETTLE_LIMITS, SIGNALS_LIMITS, TELEMETRY_LIMITS } from '../grid/limits.js'
import type { PartyContext } from '../grid/context.js'
import { settlementMethod } from '../market/methods.js'
import type { Envelope, Verified } from '../records/envelope.js'
import { startBuilding, type RunningBuilding } from '../building/port.js'
import type { KeyPair } from '../identity/ed25519.js'
import { readConfig, type NodeConfig } from './config.js'
import { CredentialStore } from '../credentials/store.js'
import { Directory } from '../credentials/directory.js'
import { readCredentialFiles } from '../credentials/import.js'
import { ensureOwnProfile } from '../credentials/profile.js'
import { governanceViolation } from '../credentials/rules.js'
import { MembersChannel } from '../net/members.js'
import { meshPeers, peerScores } from '../net/scoring.js'
import { PROTOCOL_ANSWER, PROTOCOL_CHECKPOINT, PROTOCOL_PROFILE, membersTopic as membersTopicOf } from '../net/protocol-ids.js'
import { Ledger } from '../ledger/ledger.js'
import { startTrade, type TradeService } from '../trade/service.js'
import { ANSWER_LIMITS, CHECKPOINT_LIMITS, PROFILE_LIMITS } from '../grid/limits.js'
import { join } from 'node:path'
import { dataPaths } from './data-dir.js'
import type { Clock } from './clock.js'

export interface StartOptions {
  clock: Clock
  logger: Logger
  /** Overrides of config.listen / config.bootstrap (flags beat the file). */
  listen?: string[]
  bootstrap?: string[]
}

export interface TxView {
  id: string
  request: string
  service: string
  marketplace: string
  priceMechanism: string
  role: 'requester' | 'provider'
  counterparty: string
  status: string
  window: { start: number, end: number }
  quantity: { value: number, unit: string }
  executed?: number
  paidEnergy?: number
  performance?: number
  amount?: { minor: number, currency: string }
  dispute?: string
  rejection?: string
  expiry?: string
}

/** Wall ms between checks whether our credentials need announcing again. */
const ANNOUNCE_CHECK_MS = 1_000
/** Announce at least this often (wall ms), for members that missed earlier announcements. */
const ANNOUNCE_REFRESH_MS = 30_000

export class PairgridNode {
  readonly rpcStats: RpcStats = { served: 0, refused: {} }
  requester!: Requester
  provider?: Provider
  building?: RunningBuilding
  members!: MembersChannel
  directory!: Directory
  ledger!: Ledger
  trade?: TradeService
  private announceTimer: NodeJS.Timeout | undefined
  private readonly announced = new Map<string, { subscribers: number, records: number, at: number }>()

  private constructor (
    readonly dir: string,
    readonly config: NodeConfig,
    readonly keys: KeyPair,
    readonly db: NodeDb,
    readonly log: RecordLog,
    readonly book: TransactionBook,
    readonly net: PairgridLibp2p,
    readonly channel: RequestChannel,
    readonly credentials: CredentialStore,
    readonly clock: Clock,
    readonly logger: Logger
  ) {}

  static async start (dir: string, opts: StartOptions): Promise<PairgridNode> {
    const paths = dataPaths(dir)
    const config = await readConfig(paths.config)
    const keys = await readKeyFile(paths.partyKey)
    const logger = opts.logger.child({ node: config.name })
    const db = await openDb(paths.db)
    let log: RecordLog
    try {
      log = await RecordLog.open(db)
    } catch (err) {
      await db.close()
      throw err
    }
    const book = new TransactionBook()
    for await (const entry of log.all()) book.add({ id: entry.id, record: entry.record })
    const credentials = new CredentialStore(db)
    try {
      await credentials.load()
      await credentials.add(await readCredentialFiles(join(dir, 'credentials')))
    } catch (err) {
      await db.close()
      throw err
    }
    for (const m of config.marketplaces) {
      if (!credentials.governance.has(m)) logger.warn({ marketplace: m }, 'no governance document for this marketplace: put the signed market.governance record in <data>/credentials/')
    }
    const net = await createNet({ privateKey: await libp2pPrivateKey(keys), listen: opts.listen ?? config.listen, beyondLoopback: config.listenBeyondLoopback === true })
    const directory = new Directory(credentials, net, keys.id, opts.clock, logger)
    const channel = new RequestChannel(net, opts.clock, logger, id => log.has(id), async (v) => {
      const rules = v.record.type === 'grid.request' ? governanceViolation(credentials, (v as Verified<'grid.request'>).record.body) : undefined
      if (rules !== undefined) return { ok: false, reason: 'marketplace-rules', detail: rules }
      return await directory.admit(v.record.body.marketplace, v.record.body.requester, 'request')
    })
    const node = new PairgridNode(dir, config, keys, db, log, book, net, channel, credentials, opts.clock, logger)
    node.directory = directory
    node.ledger = new Ledger(db, log, net, logger)
    await node.ledger.load()
    await node.wire()
    // Transactions resume once each bootstrap peer has been dialled once: a settlement resumed past
    // its deadline gets a single attempt, which must not be spent before we can reach anyone.
    await node.connect(opts.bootstrap ?? config.bootstrap)
    node.requester.resume()
    node.provider?.resume()
    logger.info({ party: keys.id, peerId: net.peerId.toString(), addrs: net.getMultiaddrs().map(String), logSize: log.head.size }, 'node started')
    return node
  }

  private get ctx (): PartyContext {
    return { keys: this.keys, db: this.db, log: this.log, book: this.book, clock: this.clock, net: this.net, ledger: this.ledger, logger: this.logger }
  }

  /**
   * Every party can request; a party with a building also provides. Both sides share the log,
   * the book and the credentials; the request channel feeds the provider side only.
   */
  private async wire (): Promise<void> {
    const { config, net, logger, credentials } = this
    this.members = new MembersChannel(net, logger, async (records) => { await credentials.add(records) })
    for (const m of config.marketplaces) this.members.join(m)
    await serve(net, PROTOCOL_PROFILE, PROFILE_LIMITS, async () => this.directory.ownCredentials(), logger, this.rpcStats)
    await serve(net, PROTOCOL_CHECKPOINT, CHECKPOINT_LIMITS, async (bytes) => this.ledger.onQuery(bytes), logger, this.rpcStats)

    const providers = new MarketProviders(credentials, this.members)
    const requester = new Requester(this.ctx, this.channel, this.directory, providers)
    this.requester = requester
    await serve(net, PROTOCOL_COMMIT, COMMIT_LIMITS, async (bytes, party) => await requester.onCommitment(bytes, party), logger, this.rpcStats)
    await serve(net, PROTOCOL_SETTLE, SETTLE_LIMITS, async (bytes, party) => await requester.onSettlement(bytes, party), logger, this.rpcStats)
    await serve(net, PROTOCOL_SIGNALS, SIGNALS_LIMITS, async (bytes, party) => await requester.onSignalsQuery(bytes, party), logger, this.rpcStats)

    let meter: string | undefined
    if (config.building !== undefined) {
      const building = await startBuilding(this.dir, config, this.clock, this.db, logger)
      this.building = building
      meter = building.port.meterId
      const rates = config.bidRates ?? {}
      const provider = new Provider(this.ctx, building.port, credentials, (service, reserve) => rates[service] ?? Math.floor(reserve * 0.8), providers)
      this.provider = provider
      for (const m of config.marketplaces) this.channel.join(m, { request: r => provider.onRequest(r), filled: n => provider.onFilled(n) })
      await serve(net, PROTOCOL_TELEMETRY, TELEMETRY_LIMITS, async (bytes, party) => await provider.onTelemetry(bytes, party), logger, this.rpcStats)
      await serve(net, PROTOCOL_ANSWER, ANSWER_LIMITS, async (bytes, party) => await provider.onAnswer(bytes, party), logger, this.rpcStats)
      await serveMessages(net, PROTOCOL_REGULATION, REGULATION_LIMITS, (bytes, party) => provider.onRegulation(bytes, party), logger, this.rpcStats)
    } else {
      for (const m of config.marketplaces) this.channel.join(m)
    }
    this.trade = await startTrade(this)
    // A party without a building may still meter its point of common coupling (an EV site).
    meter ??= this.trade?.ctx.meter?.id
    await ensureOwnProfile(credentials, this.keys, {
      kind: config.kind,
      name: config.name,
      location: config.location,
      ...(this.building !== undefined ? { surface: this.building.surface(), services: this.building.services() } : { services: [] }),
      ...(meter !== undefined ? { meter } : {})
    }, this.clock.now())
    this.announceTimer = setInterval(() => { void this.announce() }, ANNOUNCE_CHECK_MS)
  }

  /**
   * Announces on each marketplace's members topic: our profile and accreditations, and — as
   * operator or issuer — governance and tariffs; revocations we hold are relayed to everyone.
   * Again whenever the topic gains subscribers or our records change, and every 30 s.
   */
  private async announce (): Promise<void> {
    const { credentials, keys } = this
    for (const m of this.config.marketplaces) {
      const records = [
        ...credentials.credentialsOf(keys.id),
        ...[...credentials.governance.values()].filter(g => g.id === m && g.record.body.operator === keys.id).map(g => g.record),
        ...[...credentials.tariffs.values()].filter(t => t.record.body.marketplace === m && t.record.body.issuer === keys.id).map(t => t.record),
        ...[...credentials.revocations.values()].map(r => r.record)
      ]
      const subscribers = this.net.services.pubsub.getSubscribers(membersTopicOf(m)).length
      const last = this.announced.get(m)
      if (last !== undefined && last.subscribers >= subscribers && last.records === records.length && Date.now() - last.at < ANNOUNCE_REFRESH_MS) continue
      try {
        if (await this.members.announce(m, records)) this.announced.set(m, { subscribers, records: records.length, at: Date.now() })
      } catch (err) {
        this.logger.debug({ marketplace: m, err: (err as Error).message }, 'announcement not published yet')
      }
    }
  }

  /**
   * Dials bootstrap peers, retrying in the background until each answers or the node stops;
   * resolves once each has been tried once (at most the 5-s dial timeout).
   */
  private async connect (addrs: string[]): Promise<void> {
    await Promise.all(addrs.map(async addr => {
      const tried = Promise.withResolvers<void>()
      void (async () => {
        for (let delay = 100; this.net.status === 'started'; delay = Math.min(delay * 2, 5_000)) {
          try {
            await this.net.dial(multiaddr(addr), { signal: AbortSignal.timeout(5_000) })
            this.logger.info({ addr }, 'connected to bootstrap peer')
            return
          } catch (err) {
            this.logger.debug({ addr, err: (err as Error).message }, 'bootstrap dial failed; retrying')
            tried.resolve()
            await new Promise(resolve => setTimeout(resolve, delay))
          }
        }
      })().finally(() => { tried.resolve() })
      await tried.promise
    }))
  }

  view (tx: Tx): TxView {
    const c = tx.commitment.record.body
    const mine = c.provider === this.keys.id
    const s = tx.settlement?.record.body
    return {
      id: tx.id,
      request: c.request,
      service: c.service,
      marketplace: c.marketplace,
      priceMechanism: c.price.mechanism,
      role: mine ? 'provider' : 'requester',
      counterparty: mine ? c.requester : c.provider,
      status: this.book.status(tx),
      window: c.window,
      quantity: c.quantity,
      ...(s !== undefined ? { executed: s.executed, paidEnergy: s.paidEnergy, performance: s.performance, amount: s.amount } : {}),
      ...(tx.dispute !== undefined ? { dispute: `${tx.dispute.record.body.reason}: ${tx.dispute.record.body.detail}` } : {}),
      ...(tx.answer?.record.type === 'grid.rejection' ? { rejection: (tx.answer.record.body as { reason: string }).reason } : {}),
      ...(tx.expiry !== undefined ? { expiry: `${tx.expiry.record.body.stage}: ${tx.expiry.record.body.detail}` } : {})
    }
  }

  transactions (): TxView[] {
    return [...this.book.txs.values()].map(tx => this.view(tx))
  }

  async bundle (id: string): Promise<AuditBundle | undefined> {
    const tx = this.book.txs.get(id)
    if (tx === undefined) return undefined
    const c = tx.commitment.record.body
    let readings: Envelope[] = []
    let signals: Envelope[] = []
    if (tx.settlement !== undefined) {
      const span = settlementMethod(c.settlementMethod)!.span(c.window)
      const store = (c.provider === this.keys.id ? this.provider : this.requester)!.telemetry
      readings = c.provider === this.keys.id ? await this.building!.port.readings(span.from, span.to) : await store.readings(tx.id) ?? []
      signals = await store.signals(tx.id)
    }
    return makeBundle(tx.id, { chain: this.book.chain(tx), readings, signals, credentials: this.credentials.credentialsOf(c.provider) }, this.keys.id, this.clock.now())
  }

  status (): Record<string, unknown> {
    const counts: Record<string, number> = {}
    for (const t of this.transactions()) counts[t.status] = (counts[t.status] ?? 0) + 1
    return {
      name: this.config.name,
      kind: this.config.kind,
      party: this.keys.id,
      peerId: this.net.peerId.toString(),
      pid: process.pid,
      addrs: this.net.getMultiaddrs().map(String),
      peers: this.net.getPeers().length,
      // Gossipsub's view of each peer: its score (scoring.ts thresholds) and the meshes it is in.
      scores: peerScores(this.net.services.pubsub),
      mesh: Object.fromEntries(this.net.services.pubsub.getTopics().map(t => [t, meshPeers(this.net.services.pubsub, t)])),
      marketplaces: Object.fromEntries(this.config.marketplaces.map(m => [m, { name: this.credentials.governance.get(m)?.record.body.name, meshPeers: this.channel.meshPeers(m), members: this.net.services.pubsub.getSubscribers(membersTopicOf(m)).length }])),
      credentials: { profiles: this.credentials.profiles.size, accreditations: this.credentials.accreditations.size, revocations: this.credentials.revocations.size },
      members: this.members.stats,
      log: this.log.head,
      ledger: Object.fromEntries(this.book.counterparties(this.keys.id).map(p => [p, this.ledger.held(p)])),
      transactions: counts,
      equivocations: this.book.equivocations,
      gossip: this.channel.stats,
      streams: this.rpcStats,
      refusals: this.provider?.refusals,
      trade: this.trade?.status(),
      building: this.building === undefined ? undefined : { ...this.building.state(), responses: this.building.port.responses() },
      clock: { now: this.clock.now(), speed: this.clock.speed }
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.announceTimer)
    this.provider?.stop()
    this.requester.stop()
    await this.trade?.stop()
    await this.building?.stop()
    await closeKeptStreams(this.net)
    await this.net.stop()
    await this.db.close()
    this.logger.info('node stopped')
  }
}
