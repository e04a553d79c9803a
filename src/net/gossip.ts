// A marketplace's request channel: every gossip message is decoded and verified in the topic
// validator, so invalid ones are Rejected (the sender's gossipsub score falls) and only verified
// requests reach the node. Stale or duplicate ones are Ignored: their senders may be honest.
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { PairgridLibp2p } from './libp2p.js'
import { requestTopic } from './protocol-ids.js'
import { meshPeers, scoreTopic } from './scoring.js'
import { decodeRecord, encodeRecord, type Verified } from '../records/envelope.js'
import { RecordError } from '../records/errors.js'
import { partyOfPeer } from '../identity/peer.js'
import { fromTheFuture, type Clock } from '../node/clock.js'

export type RequestHandler = (request: Verified<'grid.request'>) => void

/** Marketplace rules and admission of the requester: a refusal Rejects the message. */
export type RequestAdmission = (request: Verified<'grid.request'>) => Promise<{ ok: true } | { ok: false, reason: string, detail: string }>

export interface GossipStats { accepted: number, rejected: Record<string, number>, ignored: Record<string, number> }

export class RequestChannel {
  private readonly verified = new WeakMap<Uint8Array, Verified<'grid.request'>>()
  readonly stats: GossipStats = { accepted: 0, rejected: {}, ignored: {} }
  private readonly topics = new Map<string, string>()

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
    this.topics.set(topic, marketplace)
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

  private count (bucket: Record<string, number>, code: string): void { bucket[code] = (bucket[code] ?? 0) + 1 }

  private async validate (peer: PeerId, msg: Message, marketplace: string): Promise<TopicValidatorResult> {
    try {
      if (msg.type !== 'signed') throw new RecordError('missing-signature', 'gossip message is not signed by its publisher')
      const v = decodeRecord(msg.data, ['grid.request'] as const)
      const body = v.record.body
      if (body.marketplace !== marketplace) throw new RecordError('schema', `request for marketplace ${body.marketplace} published on ${marketplace}'s topic`)
      if (partyOfPeer(msg.from) !== body.requester) throw new RecordError('signer-not-peer', 'request signer is not the gossip publisher')
      if (fromTheFuture(body.issuedAt, this.clock)) throw new RecordError('schema', `request dated ${new Date(body.issuedAt).toISOString()}, beyond our clock and the allowed skew`)
      if (body.expiresAt <= this.clock.now()) {
        this.count(this.stats.ignored, 'expired')
        return TopicValidatorResult.Ignore
      }
      if (this.isKnown(v.id)) {
        this.count(this.stats.ignored, 'duplicate')
        return TopicValidatorResult.Ignore
      }
      const admission = await this.admitRequest(v)
      if (!admission.ok) {
        this.count(this.stats.rejected, admission.reason)
        this.log.warn({ topic: msg.topic, peer: peer.toString(), request: v.id, code: admission.reason, detail: admission.detail }, 'rejected request: requester not admitted or rules broken')
        return TopicValidatorResult.Reject
      }
      this.verified.set(msg.data, v)
      this.stats.accepted++
      return TopicValidatorResult.Accept
    } catch (err) {
      const code = err instanceof RecordError ? err.code : 'invalid'
      this.count(this.stats.rejected, code)
      this.log.warn({ topic: msg.topic, peer: peer.toString(), code, detail: (err as Error).message }, 'rejected gossip message')
      return TopicValidatorResult.Reject
    }
  }

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
