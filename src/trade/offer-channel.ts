// A marketplace's offers topic: energy offers and bids. Every message is decoded and verified in
// the topic validator — record, marketplace, signer = gossip publisher, the signer's admission
// (`offer` or `buy`), its meter and delivery point against its signed profile — so invalid ones
// are Rejected (the sender's score falls) and only verified records reach the node. Stale or
// duplicate ones are Ignored: their senders may be honest.
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { scoreTopic } from '../net/scoring.js'
import type { PairgridLibp2p } from '../net/libp2p.js'
import { offerTopic } from '../net/protocol-ids.js'
import { decodeRecord, encodeRecord, type Verified } from '../records/envelope.js'
import { RecordError } from '../records/errors.js'
import { partyOfPeer } from '../identity/peer.js'
import type { Clock } from '../node/clock.js'
import type { GossipStats } from '../net/gossip.js'

export type MarketRecord = Verified<'trade.offer'> | Verified<'trade.bid'>

/** Admission of the signer for the record's action, its meter and its delivery point. */
export type MarketAdmission = (v: MarketRecord) => Promise<{ ok: true } | { ok: false, reason: string, detail: string }>

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

  private count (bucket: Record<string, number>, code: string): void { bucket[code] = (bucket[code] ?? 0) + 1 }

  private async validate (peer: PeerId, msg: Message, marketplace: string): Promise<TopicValidatorResult> {
    try {
      if (msg.type !== 'signed') throw new RecordError('missing-signature', 'gossip message is not signed by its publisher')
      const v = decodeRecord(msg.data, ['trade.offer', 'trade.bid'] as const) as MarketRecord
      const body = v.record.body
      const signer = 'producer' in body ? body.producer : body.buyer
      if (body.marketplace !== marketplace) throw new RecordError('schema', `${v.record.type} for marketplace ${body.marketplace} published on ${marketplace}'s topic`)
      if (partyOfPeer(msg.from) !== signer) throw new RecordError('signer-not-peer', `${v.record.type} signer is not the gossip publisher`)
      if (body.expiresAt <= this.clock.now()) {
        this.count(this.stats.ignored, 'expired')
        return TopicValidatorResult.Ignore
      }
      if (this.isKnown(v.id)) {
        this.count(this.stats.ignored, 'duplicate')
        return TopicValidatorResult.Ignore
      }
      const admission = await this.admitRecord(v)
      if (!admission.ok) {
        this.count(this.stats.rejected, admission.reason)
        this.log.warn({ topic: msg.topic, peer: peer.toString(), record: v.id, code: admission.reason, detail: admission.detail }, `rejected ${v.record.type}: signer not admitted or not bound to its meter and location`)
        return TopicValidatorResult.Reject
      }
      this.verified.set(msg.data, v)
      this.stats.accepted++
      return TopicValidatorResult.Accept
    } catch (err) {
      const code = err instanceof RecordError ? err.code : 'invalid'
      this.count(this.stats.rejected, code)
      this.log.warn({ topic: msg.topic, peer: peer.toString(), code, detail: (err as Error).message }, 'rejected gossip message on an offers topic')
      return TopicValidatorResult.Reject
    }
  }

  async publish (v: MarketRecord): Promise<number> {
    const result = await this.net.services.pubsub.publish(offerTopic(v.record.body.marketplace), encodeRecord(v.record))
    return result.recipients.length
  }

  subscribers (marketplace: string): number {
    return this.net.services.pubsub.getSubscribers(offerTopic(marketplace)).length
  }
}
