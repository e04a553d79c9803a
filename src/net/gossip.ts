// A marketplace's request channel: every gossip message passes the marketplace validation
// (market-validator.ts) with the requester's admission, so only verified requests, and the
// requesters' notices that a request is filled, reach the node.
// A request is authenticated by its own signature (the requester's), not by who relays it:
// messages carry no gossipsub signature or publisher (StrictNoSign, libp2p.ts).
import type { Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { PairgridLibp2p } from './libp2p.js'
import { requestTopic } from './protocol-ids.js'
import { meshPeers, scoreTopic } from './scoring.js'
import { encodeRecord, type Verified } from '../records/envelope.js'
import type { Clock } from '../node/clock.js'
import { validateMarketRecord, type Admission, type GossipStats } from './market-validator.js'

export type { GossipStats } from './market-validator.js'

const CHANNEL_TYPES = ['grid.request', 'grid.filled'] as const
type ChannelRecord = Verified<typeof CHANNEL_TYPES[number]>

/** What a provider does with what the channel delivers. */
export interface RequestHandlers {
  request: (request: Verified<'grid.request'>) => void
  filled: (notice: Verified<'grid.filled'>) => void
}

/** Marketplace rules (of a request) and admission of the requester: a refusal Rejects the message. */
export type RequestAdmission = (record: ChannelRecord) => Promise<Admission>

export class RequestChannel {
  private readonly verified = new WeakMap<Uint8Array, ChannelRecord>()
  readonly stats: GossipStats = { accepted: 0, rejected: {}, ignored: {} }

  constructor (
    private readonly net: PairgridLibp2p,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly isKnown: (id: string) => boolean,
    private readonly admitRequest: RequestAdmission
  ) {}

  private get pubsub (): PairgridLibp2p['services']['pubsub'] { return this.net.services.pubsub }

  /** Joins a marketplace's request topic; verified records go to `handlers` (a provider's). */
  join (marketplace: string, handlers?: RequestHandlers): void {
    const topic = requestTopic(marketplace)
    this.pubsub.topicValidators.set(topic, (peer, msg) => this.validate(peer, msg, marketplace))
    scoreTopic(this.pubsub, topic)
    this.pubsub.subscribe(topic)
    if (handlers !== undefined) {
      this.pubsub.addEventListener('message', (evt) => {
        const msg = evt.detail
        if (msg.topic !== topic) return
        const v = this.verified.get(msg.data)
        if (v === undefined) return
        if (v.record.type === 'grid.request') handlers.request(v as Verified<'grid.request'>)
        else handlers.filled(v as Verified<'grid.filled'>)
      })
    }
  }

  private async validate (peer: PeerId, msg: Message, marketplace: string): Promise<TopicValidatorResult> {
    return await validateMarketRecord(peer, msg, marketplace, {
      types: CHANNEL_TYPES,
      // The requester signs its request (and its notices) and is the party admitted, whichever peer relays it.
      signerOf: (v: ChannelRecord) => v.record.body.requester,
      admit: this.admitRequest
    }, { clock: this.clock, log: this.log, isKnown: this.isKnown, stats: this.stats, verified: this.verified as WeakMap<Uint8Array, Verified> })
  }

  /** The message id is the content: the same record published again within gossipsub's seen time (2 min) throws PublishError.Duplicate. */
  async publish (record: ChannelRecord): Promise<number> {
    const result = await this.pubsub.publish(requestTopic(record.record.body.marketplace), encodeRecord(record.record))
    return result.recipients.length
  }

  /** Peers known to subscribe to a marketplace's topic (publishing needs at least one). */
  subscribers (marketplace: string): number {
    return this.pubsub.getSubscribers(requestTopic(marketplace)).length
  }

  meshPeers (marketplace: string): number {
    return meshPeers(this.pubsub, requestTopic(marketplace)).length
  }
}
