// A marketplace's members topic: parties announce their signed credentials (profile,
// accreditations), operators their governance and tariffs, accreditors their revocations. Every
// record is verified in the validator; one bad record rejects the message and lowers its
// sender's score. Credentials are self-authenticating: anyone may relay them, and no gossip
// publisher is checked (messages carry none: StrictNoSign, libp2p.ts).
import { randomBytes } from 'node:crypto'
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { PairgridLibp2p } from './libp2p.js'
import { membersTopic } from './protocol-ids.js'
import { scoreTopic } from './scoring.js'
import { verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import { RecordError } from '../records/errors.js'
import { canonicalBytes } from '../records/canonical.js'
import { CREDENTIAL_TYPES, type CredentialType } from '../credentials/store.js'
import type { GossipStats } from './gossip.js'

const MAX_MESSAGE_BYTES = 128 * 1024
const MAX_RECORDS = 64

export function decodeCredentialBatch (data: Uint8Array): Array<Verified<CredentialType>> {
  if (data.length > MAX_MESSAGE_BYTES) throw new RecordError('oversized', `credential batch of ${data.length} bytes exceeds ${MAX_MESSAGE_BYTES}`)
  let value: unknown
  try { value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)) } catch (err) { throw new RecordError('malformed-json', (err as Error).message) }
  const records = (value as { records?: unknown })?.records
  if (!Array.isArray(records) || records.length === 0 || records.length > MAX_RECORDS) throw new RecordError('schema', `a credential batch is {"records": [1..${MAX_RECORDS} records]}`)
  return records.map(r => verifyRecord(r, CREDENTIAL_TYPES))
}

/** Who is in a marketplace, as its members topic shows: parties whose profile was announced there. */
export interface MarketMembership {
  partiesOf: (marketplace: string) => ReadonlySet<string>
  /** Grows whenever a party is first seen in a marketplace. */
  readonly version: number
}

export class MembersChannel implements MarketMembership {
  readonly stats: GossipStats = { accepted: 0, rejected: {}, ignored: {} }
  private readonly verified = new WeakMap<Uint8Array, Array<Verified<CredentialType>>>()
  /** Marketplace of each members topic joined. */
  private readonly marketplaces = new Map<string, string>()
  /** In memory only: members announce again every 30 s and to every new subscriber. */
  private readonly parties = new Map<string, Set<string>>()
  version = 0

  constructor (
    private readonly net: PairgridLibp2p,
    private readonly log: Logger,
    private readonly onRecords: (records: Array<Verified<CredentialType>>) => Promise<void>
  ) {
    net.services.pubsub.addEventListener('message', (evt) => {
      const v = this.verified.get(evt.detail.data)
      if (v === undefined) return
      const marketplace = this.marketplaces.get(evt.detail.topic)
      if (marketplace !== undefined) this.note(marketplace, v)
      void this.onRecords(v).catch(err => this.log.error({ err: (err as Error).message }, 'could not store credentials'))
    })
  }

  partiesOf (marketplace: string): ReadonlySet<string> { return this.parties.get(marketplace) ?? new Set() }

  private note (marketplace: string, records: Array<Verified<CredentialType>>): void {
    let known = this.parties.get(marketplace)
    if (known === undefined) this.parties.set(marketplace, known = new Set())
    for (const r of records) {
      if (r.record.type !== 'party.profile') continue
      const party = (r as Verified<'party.profile'>).record.body.party
      if (!known.has(party)) { known.add(party); this.version++ }
    }
  }

  join (marketplace: string): void {
    const topic = membersTopic(marketplace)
    this.marketplaces.set(topic, marketplace)
    this.net.services.pubsub.topicValidators.set(topic, (peer, msg) => this.validate(peer, msg))
    scoreTopic(this.net.services.pubsub, topic)
    this.net.services.pubsub.subscribe(topic)
  }

  private validate (peer: PeerId, msg: Message): TopicValidatorResult {
    try {
      this.verified.set(msg.data, decodeCredentialBatch(msg.data))
      this.stats.accepted++
      return TopicValidatorResult.Accept
    } catch (err) {
      const code = err instanceof RecordError ? err.code : 'invalid'
      this.stats.rejected[code] = (this.stats.rejected[code] ?? 0) + 1
      this.log.warn({ topic: msg.topic, peer: peer.toString(), code, detail: (err as Error).message }, 'rejected credential announcement')
      return TopicValidatorResult.Reject
    }
  }

  /**
   * Publishes credentials; false when nobody subscribes yet (the caller announces again later).
   * Each announcement carries a fresh `nonce`: the message id is the SHA-256 of the data, and
   * gossipsub refuses to publish the same bytes again within its seen time (2 min), so without it
   * the announcement repeated for new subscribers would not be sent.
   */
  async announce (marketplace: string, records: Envelope[]): Promise<boolean> {
    const topic = membersTopic(marketplace)
    if (records.length === 0 || this.net.services.pubsub.getSubscribers(topic).length === 0) return false
    for (let i = 0; i < records.length; i += MAX_RECORDS) {
      await this.net.services.pubsub.publish(topic, canonicalBytes({ records: records.slice(i, i + MAX_RECORDS), nonce: randomBytes(16).toString('hex') }))
    }
    return true
  }
}
