// A marketplace's request channel: every gossip message passes the marketplace validation
// (market-validator.ts) with the requester's admission, so only verified requests reach the node.
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

export type RequestHandler = (request: Verified<'grid.request'>) => void

/** Marketplace rules and admission of the requester: a refusal Rejects the message. */
export type RequestAdmission = (request: Verified<'grid.request'>) => Promise<Admission>

export class RequestChannel {
  private readonly verified = new WeakMap<Uint8Array, Verified<'grid.request'>>()
  readonly stats: GossipStats = { accepted: 0, rejected: {}, ignored: {} }

  constructor (
    private readonly net: PairgridLibp2p,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly isKnown: (id: string) => boolean,
    private readonly admitRequest: RequestAdmission
  ) {}

  private get pubsub (): PairgridLibp2p['services']['pubsub'] { return this.net.services.pubsub }

  /** Joins a marketplace's request topic; verified requests go to `onRequest`. */
  join (marketplace: string, onRequest?: RequestHandler): void {
    const topic = requestTopic(marketplace)
    this.pubsub.topicValidators.set(topic, (peer, msg) => this.validate(peer, msg, marketplace))
    scoreTopic(this.pubsub, topic)
    this.pubsub.subscribe(topic)
    if (onRequest !== undefined) {
      this.pubsub.addEventListener('message', (evt) => {
        const msg = evt.detail
        if (msg.topic !== topic) return
        const v = this.verified.get(msg.data)
        if (v !== undefined) onRequest(v)
      })
    }
  }

  private async validate (peer: PeerId, msg: Message, marketplace: string): Promise<TopicValidatorResult> {
    return await validateMarketRecord(peer, msg, marketplace, {
      types: ['grid.request'],
      // The requester signs its request and is the party admitted, whichever peer relays it.
      signerOf: (v: Verified<'grid.request'>) => v.record.body.requester,
      admit: this.admitRequest
    }, { clock: this.clock, log: this.log, isKnown: this.isKnown, stats: this.stats, verified: this.verified as WeakMap<Uint8Array, Verified> })
  }

  /** The message id is the content: the same request published again within gossipsub's seen time (2 min) throws PublishError.Duplicate. */
  async publish (request: Verified<'grid.request'>): Promise<number> {
    const result = await this.pubsub.publish(requestTopic(request.record.body.marketplace), encodeRecord(request.record))
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
