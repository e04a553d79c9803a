// Every credential a node knows: its own and its counterparties' profiles, accreditations and
// revocations, the governance documents of its marketplaces, tariffs and framework agreements.
// Kept durable in the node's LevelDB; fed from files, the members topic and profile fetches.
import type { Envelope, Verified } from '../records/envelope.js'
import { verifyRecord } from '../records/envelope.js'
import type { NodeDb } from '../log/db.js'

export const CREDENTIAL_TYPES = ['party.profile', 'credential.accreditation', 'credential.revocation', 'market.governance', 'market.tariff', 'market.framework'] as const
export type CredentialType = typeof CREDENTIAL_TYPES[number]

export class CredentialStore {
  readonly profiles = new Map<string, Verified<'party.profile'>>()
  readonly accreditations = new Map<string, Verified<'credential.accreditation'>>()
  readonly revocations = new Map<string, Verified<'credential.revocation'>>()
  readonly governance = new Map<string, Verified<'market.governance'>>()
  readonly tariffs = new Map<string, Verified<'market.tariff'>>()
  readonly frameworks = new Map<string, Verified<'market.framework'>>()
  private readonly sub

  constructor (private readonly db: NodeDb) {
    this.sub = db.level.sublevel<string, Envelope>('credentials', { valueEncoding: 'json' })
  }

  async load (): Promise<void> {
    for await (const value of this.sub.values()) this.admit(verifyRecord(value, CREDENTIAL_TYPES))
  }

  /** Adds verified credentials durably; returns how many were new (or newer versions). */
  async add (records: Array<Verified<CredentialType>>): Promise<number> {
    const fresh = records.filter(v => this.admit(v))
    if (fresh.length > 0) await this.db.committer.write(fresh.map(v => ({ type: 'put' as const, sublevel: this.sub as never, key: v.id, value: v.record })))
    return fresh.length
  }

  private admit (v: Verified<CredentialType>): boolean {
    switch (v.record.type) {
      case 'party.profile': {
        const p = v as Verified<'party.profile'>
        const known = this.profiles.get(p.record.body.party)
        if (known !== undefined && known.record.body.version >= p.record.body.version) return false
        this.profiles.set(p.record.body.party, p)
        return true
      }
      case 'credential.accreditation': return setNew(this.accreditations, v as Verified<'credential.accreditation'>)
      case 'credential.revocation': {
        const r = (v as Verified<'credential.revocation'>).record.body
        // Keyed with its signer, so a stranger's "revocation" can never shadow the accreditor's.
        return setNew(this.revocations, v as Verified<'credential.revocation'>, `${r.accreditation}|${r.accreditor}`)
      }
      case 'market.governance': return setNew(this.governance, v as Verified<'market.governance'>)
      case 'market.tariff': return setNew(this.tariffs, v as Verified<'market.tariff'>)
      case 'market.framework': return setNew(this.frameworks, v as Verified<'market.framework'>)
    }
  }

  /** A party's profile with the accreditations naming it as subject: what it shows others. */
  credentialsOf (party: string): Envelope[] {
    const profile = this.profiles.get(party)
    if (profile === undefined) return []
    const accs = [...this.accreditations.values()].filter(a => a.record.body.subject === party)
    return [profile.record, ...accs.map(a => a.record)]
  }

  /** Revocation of an accreditation, honoured only when its own accreditor signed it. */
  revocationOf (accreditation: Verified<'credential.accreditation'>): Verified<'credential.revocation'> | undefined {
    return this.revocations.get(`${accreditation.id}|${accreditation.record.body.accreditor}`)
  }
}

function setNew<T> (map: Map<string, T>, v: T & { id: string }, key = v.id): boolean {
  if (map.has(key)) return false
  map.set(key, v)
  return true
}
