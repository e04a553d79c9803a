// The validation every marketplace topic applies to a gossiped record, whatever its type: decode
// and verify, right marketplace, signer = gossip publisher, not dated in the future, then the
// topic's admission rule. Invalid records are Rejected (the sender's gossipsub score falls);
// stale or duplicate ones are Ignored, since their senders may be honest.
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { decodeRecord, type Verified } from '../records/envelope.js'
import { RecordError } from '../records/errors.js'
import type { RecordType } from '../records/registry.js'
import { partyOfPeer } from '../identity/peer.js'
import { fromTheFuture, type Clock } from '../node/clock.js'

export interface GossipStats { accepted: number, rejected: Record<string, number>, ignored: Record<string, number> }

export type Admission = { ok: true } | { ok: false, reason: string, detail: string }

/** What a topic admits: its record types, who must have signed each, and its admission rule. */
export interface TopicRules<V extends Verified> {
  types: readonly RecordType[]
  signerOf: (v: V) => string
  admit: (v: V) => Promise<Admission>
}

export interface TopicState {
  clock: Clock
  log: Logger
  isKnown: (id: string) => boolean
  stats: GossipStats
  /** Verified records by message bytes, for the message handler (no second decode). */
  verified: WeakMap<Uint8Array, Verified>
}

const count = (bucket: Record<string, number>, code: string): void => { bucket[code] = (bucket[code] ?? 0) + 1 }

export async function validateMarketRecord<V extends Verified> (peer: PeerId, msg: Message, marketplace: string, rules: TopicRules<V>, state: TopicState): Promise<TopicValidatorResult> {
  const { clock, log, stats } = state
  try {
    if (msg.type !== 'signed') throw new RecordError('missing-signature', 'gossip message is not signed by its publisher')
    const v = decodeRecord(msg.data, rules.types) as V
    const what = v.record.type
    const body = v.record.body as unknown as { marketplace: string, issuedAt: number, expiresAt: number }
    if (body.marketplace !== marketplace) throw new RecordError('schema', `${what} for marketplace ${body.marketplace} published on ${marketplace}'s topic`)
    if (partyOfPeer(msg.from) !== rules.signerOf(v)) throw new RecordError('signer-not-peer', `${what} signer is not the gossip publisher`)
    if (fromTheFuture(body.issuedAt, clock)) throw new RecordError('schema', `${what} dated ${new Date(body.issuedAt).toISOString()}, beyond our clock and the allowed skew`)
    if (body.expiresAt <= clock.now()) {
      count(stats.ignored, 'expired')
      return TopicValidatorResult.Ignore
    }
    if (state.isKnown(v.id)) {
      count(stats.ignored, 'duplicate')
      return TopicValidatorResult.Ignore
    }
    const admission = await rules.admit(v)
    if (!admission.ok) {
      count(stats.rejected, admission.reason)
      log.warn({ topic: msg.topic, peer: peer.toString(), record: v.id, code: admission.reason, detail: admission.detail }, `rejected ${what}: signer not admitted or rules broken`)
      return TopicValidatorResult.Reject
    }
    state.verified.set(msg.data, v)
    stats.accepted++
    return TopicValidatorResult.Accept
  } catch (err) {
    const code = err instanceof RecordError ? err.code : 'invalid'
    count(stats.rejected, code)
    log.warn({ topic: msg.topic, peer: peer.toString(), code, detail: (err as Error).message }, 'rejected gossip message')
    return TopicValidatorResult.Reject
  }
}
