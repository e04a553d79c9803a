// A party's own admissibility profile: re-signed (with the next version) only when its content
// changes, so peers' cached copies stay valid across restarts.
import { canonicalize } from '../records/canonical.js'
import { signRecord, type Verified } from '../records/envelope.js'
import type { ProfileBody } from '../records/credential-schemas.js'
import type { KeyPair } from '../identity/ed25519.js'
import type { CredentialStore } from './store.js'

export type ProfileContent = Omit<ProfileBody, 'party' | 'version' | 'issuedAt' | 'accreditations'>

export async function ensureOwnProfile (store: CredentialStore, keys: KeyPair, content: ProfileContent, now: number): Promise<Verified<'party.profile'>> {
  const accreditations = [...store.accreditations.values()].filter(a => a.record.body.subject === keys.id).map(a => a.id).sort()
  const wanted = { ...content, party: keys.id, accreditations }
  const current = store.profiles.get(keys.id)
  if (current !== undefined) {
    const { version: _v, issuedAt: _i, ...rest } = current.record.body
    if (canonicalize(rest) === canonicalize(wanted)) return current
  }
  const profile = signRecord('party.profile', { ...wanted, version: (current?.record.body.version ?? 0) + 1, issuedAt: now }, keys)
  await store.add([profile])
  return profile
}
