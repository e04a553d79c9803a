// A marketplace's offers topic: energy offers and bids. Every message passes the marketplace
// validation (src/net/market-validator.ts) with this topic's admission rule: the signer's
// admission (`offer` or `buy`), its meter and delivery point against its signed profile.
import type { Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { scoreTopic } from '../net/scoring.js'
import type { PairgridLibp2p } from '../net/libp2p.js'
import { offerTopic } from '../net/protocol-ids.js'
import { encodeRecord, type Verified } from '../records/envelope.js'
import type { Clock } from '../node/clock.js'
import { validateMarketRecord, type Admission, type GossipStats } from '../net/market-validator.js'

export type MarketRecord = Verified<'trade.offer'> | Verified<'trade.bid'>

/** Admission of the signer for the record's action, its meter and its delivery point. */
export type MarketAdmission = (v: MarketRecord) => Promise<Admission>

export class OfferChannel {
  readonly stats: GossipStats = { accepted: 0, rejected: {}, ignored: {} }
  private readonly verified = new WeakMap<Uint8Array, MarketRecord>()

  constructor (
    private readonly net: PairgridLibp2p,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly isKnown: (id: string) => boolean,
    private readonly admitRecord: MarketAdmission,
    onRecord: (v: MarketRecord) => void
  ) {
    net.services.pubsub.addEventListener('message', (evt) => {
      const v = this.verified.get(evt.detail.data)
      if (v !== undefined) onRecord(v)
    })
  }

  join (marketplace: string): void {
    const topic = offerTopic(marketplace)
    this.net.services.pubsub.topicValidators.set(topic, async (peer, msg) => await this.validate(peer, msg, marketplace))
    // Scored like every marketplace topic, so a Reject here lowers the sender's score too.
    scoreTopic(this.net.services.pubsub, topic)
    this.net.services.pubsub.subscribe(topic)
  }

  private async validate (peer: PeerId, msg: Message, marketplace: string): Promise<TopicValidatorResult> {
    return await validateMarketRecord(peer, msg, marketplace, {
      types: ['trade.offer', 'trade.bid'],
      signerOf: (v: MarketRecord) => 'producer' in v.record.body ? v.record.body.producer : v.record.body.buyer,
      admit: this.admitRecord
    }, { clock: this.clock, log: this.log, isKnown: this.isKnown, stats: this.stats, verified: this.verified as WeakMap<Uint8Array, Verified> })
  }

  async publish (v: MarketRecord): Promise<number> {
    const result = await this.net.services.pubsub.publish(offerTopic(v.record.body.marketplace), encodeRecord(v.record))
    return result.recipients.length
  }

  subscribers (marketplace: string): number {
    return this.net.services.pubsub.getSubscribers(offerTopic(marketplace)).length
  }
}
