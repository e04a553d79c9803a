// Answers "is this party admitted?" from the credential store, fetching a party's credentials
// from the party itself (profile protocol) when the store lacks them or they may be stale.
import type { Logger } from 'pino'
import type { PairgridLibp2p } from '../net/libp2p.js'
import { call } from '../net/rpc.js'
import { PROTOCOL_PROFILE } from '../net/protocol-ids.js'
import { peerIdOfParty } from '../identity/peer.js'
import { verifyRecord, type Envelope } from '../records/envelope.js'
import type { MarketAction } from '../records/credential-schemas.js'
import { PROFILE_LIMITS } from '../grid/limits.js'
import type { Clock } from '../node/clock.js'
import { admit, type Admission } from './admission.js'
import { CREDENTIAL_TYPES, type CredentialStore } from './store.js'

/** Refetch a party's credentials at most this often (wall ms) when admission fails. */
const REFETCH_MS = 10_000

export class Directory {
  private readonly fetchedAt = new Map<string, number>()
  private readonly inFlight = new Map<string, Promise<void>>()

  constructor (
    readonly store: CredentialStore,
    private readonly net: PairgridLibp2p,
    private readonly self: string,
    private readonly clock: Clock,
    private readonly logger: Logger
  ) {}

  /** Fetches a party's profile and accreditations from the party itself; concurrent callers share one fetch. */
  async fetch (party: string): Promise<void> {
    const running = this.inFlight.get(party)
    if (running !== undefined) return await running
    const fetching = this.fetchFrom(party).finally(() => this.inFlight.delete(party))
    this.inFlight.set(party, fetching)
    await fetching
  }

  private async fetchFrom (party: string): Promise<void> {
    this.fetchedAt.set(party, Date.now())
    try {
      const answer = await call(this.net, peerIdOfParty(party), PROTOCOL_PROFILE, {}, PROFILE_LIMITS) as { records?: unknown }
      if (!Array.isArray(answer.records)) throw new Error('profile answer carries no records')
      const records = answer.records.map(r => verifyRecord(r, CREDENTIAL_TYPES))
      if (!records.some(r => r.record.type === 'party.profile' && (r.record.body as { party: string }).party === party)) throw new Error('the answer holds no profile of that party')
      await this.store.add(records)
    } catch (err) {
      this.logger.warn({ party, err: (err as Error).message }, 'could not fetch credentials')
    }
  }

  async admit (marketplace: string, party: string, action: MarketAction, meter?: string): Promise<Admission> {
    let verdict = admit(this.store, marketplace, party, action, this.clock.now(), meter)
    const stale = this.inFlight.has(party) || Date.now() - (this.fetchedAt.get(party) ?? 0) > REFETCH_MS
    if (!verdict.ok && stale && ['unknown-party', 'unaccredited', 'meter-not-certified', 'expired'].includes(verdict.reason)) {
      await this.fetch(party)
      verdict = admit(this.store, marketplace, party, action, this.clock.now(), meter)
    }
    return verdict
  }

  /** Handler of the profile protocol: our own credentials. */
  ownCredentials (): { records: Envelope[] } {
    return { records: this.store.credentialsOf(this.self) }
  }
}
