// The validation every marketplace topic applies to a gossiped record, whatever its type: decode
// and verify, the message is the record's canonical encoding, right marketplace, signed by the
// party the topic's rules name, not dated in the future, then the topic's admission rule.
//
// Gossip messages carry no gossipsub signature or publisher (StrictNoSign, src/net/libp2p.ts):
// the record's own signature authenticates it, whoever relays it, and the record's signer is the
// party admitted. What the old "signer = gossip publisher" rule also kept out — anyone replaying
// an admitted party's records — is covered here: an expired or already known record is Ignored
// (never forwarded), each record is handed to the node at most once (`accepted` below), and as
// a record has exactly one valid encoding, gossipsub's seen cache (message id = SHA-256 of the
// data) drops every further copy before it reaches a validator.
//
// Invalid records are Rejected (the propagating peer's gossipsub score falls: an honest relay
// validates before forwarding, so it never forwards one); stale or duplicate ones are Ignored,
// since their senders may be honest.
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { decodeRecord, encodeRecord, type Verified } from '../records/envelope.js'
import { RecordError } from '../records/errors.js'
import type { RecordType } from '../records/registry.js'
import { fromTheFuture, type Clock } from '../node/clock.js'

export interface GossipStats { accepted: number, rejected: Record<string, number>, ignored: Record<string, number> }

export type Admission = { ok: true } | { ok: false, reason: string, detail: string }

/** What a topic admits: its record types, who must have signed each, and its admission rule. */
export interface TopicRules<V extends Verified> {
  types: readonly RecordType[]
  /** The party whose signature the record must carry first: the one `admit` admits. */
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

/** Most accepted record ids a topic remembers (until each record expires). */
const MAX_ACCEPTED = 100_000

/**
 * Ids of the records a channel has accepted, each until its `expiresAt`: a record is handed to
 * the node once, however many times it is relayed (after the seen cache has forgotten it, by a
 * peer that kept it). Only admitted parties' records get here, so it grows with the marketplace's
 * genuine traffic; past MAX_ACCEPTED the expired ids go, then the oldest.
 */
class AcceptedRecords {
  private readonly ids = new Map<string, number>()
  has (id: string, now: number): boolean { return (this.ids.get(id) ?? -Infinity) > now }
  add (id: string, expiresAt: number, now: number): void {
    this.ids.set(id, expiresAt)
    if (this.ids.size <= MAX_ACCEPTED) return
    for (const [k, until] of this.ids) if (until <= now) this.ids.delete(k)
    for (const k of this.ids.keys()) {
      if (this.ids.size <= MAX_ACCEPTED) break
      this.ids.delete(k)
    }
  }
}

/** One per channel, found by the channel's `verified` map (the channels pass the same one every time). */
const acceptedBy = new WeakMap<object, AcceptedRecords>()
function acceptedOf (state: TopicState): AcceptedRecords {
  let a = acceptedBy.get(state.verified)
  if (a === undefined) acceptedBy.set(state.verified, a = new AcceptedRecords())
  return a
}

const count = (bucket: Record<string, number>, code: string): void => { bucket[code] = (bucket[code] ?? 0) + 1 }

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)
}

export async function validateMarketRecord<V extends Verified> (peer: PeerId, msg: Message, marketplace: string, rules: TopicRules<V>, state: TopicState): Promise<TopicValidatorResult> {
  const { clock, log, stats } = state
  const reject = (code: string, detail: string, record?: string): TopicValidatorResult => {
    count(stats.rejected, code)
    log.warn({ topic: msg.topic, peer: peer.toString(), record, code, detail }, 'rejected gossip message')
    return TopicValidatorResult.Reject
  }
  let v: V
  try {
    v = decodeRecord(msg.data, rules.types) as V
  } catch (err) {
    return reject(err instanceof RecordError ? err.code : 'invalid', (err as Error).message)
  }
  const what = v.record.type
  const body = v.record.body as unknown as { marketplace: string, issuedAt: number, expiresAt: number }
  // One encoding per record, so one message id: a relay cannot mint fresh copies of a record
  // (whitespace, key order) that each cost every neighbour a decode and verify.
  const canonical = v.canonical !== undefined ? Buffer.from(v.canonical, 'utf8') : encodeRecord(v.record)
  if (!sameBytes(msg.data, canonical)) return reject('non-canonical', `${what} is not in its canonical encoding`, v.id)
  if (body.marketplace !== marketplace) return reject('schema', `${what} for marketplace ${body.marketplace} published on ${marketplace}'s topic`, v.id)
  // The pipeline already holds every signature to the party the body names at its position.
  const signer = rules.signerOf(v)
  if (v.record.sigs[0]?.by !== signer) return reject('unexpected-signer', `${what} is not signed by ${signer}`, v.id)
  if (fromTheFuture(body.issuedAt, clock)) return reject('schema', `${what} dated ${new Date(body.issuedAt).toISOString()}, beyond our clock and the allowed skew`, v.id)
  const now = clock.now()
  if (body.expiresAt <= now) {
    count(stats.ignored, 'expired')
    return TopicValidatorResult.Ignore
  }
  const accepted = acceptedOf(state)
  if (state.isKnown(v.id) || accepted.has(v.id, now)) {
    count(stats.ignored, 'duplicate')
    return TopicValidatorResult.Ignore
  }
  let admission: Admission
  try {
    admission = await rules.admit(v)
  } catch (err) {
    return reject(err instanceof RecordError ? err.code : 'invalid', (err as Error).message, v.id)
  }
  if (!admission.ok) {
    count(stats.rejected, admission.reason)
    log.warn({ topic: msg.topic, peer: peer.toString(), record: v.id, signer, code: admission.reason, detail: admission.detail }, `rejected ${what}: signer not admitted or rules broken`)
    return TopicValidatorResult.Reject
  }
  accepted.add(v.id, body.expiresAt, clock.now())
  state.verified.set(msg.data, v)
  stats.accepted++
  return TopicValidatorResult.Accept
}
