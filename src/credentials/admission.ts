// Admission: may this party take this action in this marketplace, now? The governance document
// names the roles, what each may do, which accreditations each role needs, and whose signature
// counts for each kind of accreditation. The operator may do everything in its own marketplace.
import type { AccreditationKind, MarketAction } from '../records/credential-schemas.js'
import type { CredentialStore } from './store.js'

export type AdmissionReason = 'unknown-marketplace' | 'unknown-party' | 'wrong-role' | 'unaccredited' | 'not-yet-valid' | 'expired' | 'revoked' | 'meter-not-certified'

export type Admission = { ok: true } | { ok: false, reason: AdmissionReason, detail: string }

// When no accreditation of a kind is valid, report the most telling reason among the candidates.
const SEVERITY: AdmissionReason[] = ['unaccredited', 'meter-not-certified', 'not-yet-valid', 'expired', 'revoked']

export function admit (store: CredentialStore, marketplace: string, party: string, action: MarketAction, now: number, meter?: string): Admission {
  const g = store.governance.get(marketplace)?.record.body
  if (g === undefined) return { ok: false, reason: 'unknown-marketplace', detail: `no governance document for marketplace ${marketplace}` }
  if (party === g.operator) return { ok: true }
  const profile = store.profiles.get(party)?.record.body
  if (profile === undefined) return { ok: false, reason: 'unknown-party', detail: `no profile of ${party}` }
  const role = g.roles.find(r => r.kind === profile.kind && r.may.includes(action))
  if (role === undefined) return { ok: false, reason: 'wrong-role', detail: `a ${profile.kind} may not ${action} in ${g.name}` }
  for (const kind of role.requires) {
    const found = accreditationStatus(store, marketplace, party, kind, now, kind === 'meter-certification' ? meter ?? profile.meter : undefined)
    if (!found.ok) return found
  }
  return { ok: true }
}

function accreditationStatus (store: CredentialStore, marketplace: string, party: string, kind: AccreditationKind, now: number, meter: string | undefined): Admission {
  const g = store.governance.get(marketplace)!.record.body
  const trusted = new Set(g.trustedAccreditors.filter(t => t.kind === kind).map(t => t.accreditor))
  const refusals: Array<Admission & { ok: false }> = []
  for (const acc of store.accreditations.values()) {
    const a = acc.record.body
    if (a.subject !== party || a.kind !== kind || !trusted.has(a.accreditor) || (a.scope !== '*' && a.scope !== marketplace)) continue
    const revocation = store.revocationOf(acc)
    const id = `${kind} accreditation ${acc.id.slice(0, 12)}…`
    if (revocation !== undefined) refusals.push({ ok: false, reason: 'revoked', detail: `${id} was revoked: ${revocation.record.body.reason}` })
    else if (now >= a.expiresAt) refusals.push({ ok: false, reason: 'expired', detail: `${id} expired at ${new Date(a.expiresAt).toISOString()}` })
    else if (now < a.notBefore) refusals.push({ ok: false, reason: 'not-yet-valid', detail: `${id} is valid from ${new Date(a.notBefore).toISOString()}` })
    else if (kind === 'meter-certification' && (meter === undefined || a.meter !== meter)) refusals.push({ ok: false, reason: 'meter-not-certified', detail: `meter ${meter ?? '(none)'} is not the certified meter ${a.meter ?? ''}` })
    else return { ok: true }
  }
  refusals.sort((x, y) => SEVERITY.indexOf(y.reason) - SEVERITY.indexOf(x.reason))
  return refusals[0] ?? { ok: false, reason: 'unaccredited', detail: `no ${kind} accreditation of ${party} by an accreditor ${g.name} trusts` }
}
