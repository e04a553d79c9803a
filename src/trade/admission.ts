// Who may trade, with which meter, from where: the governance role must allow the action (`offer`
// for producers, `buy` for buyers), and the meter a trade record names must be the party's — in
// its signed profile, or certified to it by a meter certifier the marketplace trusts — because a
// settlement is computed from that meter's readings. A delivery point must be the profile's location.
import { canonicalize } from '../records/canonical.js'
import type { Location } from '../records/trade-schemas.js'
import type { MarketAction } from '../records/credential-schemas.js'
import type { CredentialStore } from '../credentials/store.js'
import type { Directory } from '../credentials/directory.js'

export type TradeAdmission = { ok: true, location: Location } | { ok: false, reason: string, detail: string }

export function meterBinding (store: CredentialStore, marketplace: string, party: string, meter: string, now: number): string | undefined {
  if (store.profiles.get(party)?.record.body.meter === meter) return undefined
  const g = store.governance.get(marketplace)?.record.body
  const trusted = new Set(g?.trustedAccreditors.filter(t => t.kind === 'meter-certification').map(t => t.accreditor))
  for (const acc of store.accreditations.values()) {
    const a = acc.record.body
    if (a.subject !== party || a.kind !== 'meter-certification' || a.meter !== meter || !trusted.has(a.accreditor)) continue
    if ((a.scope === '*' || a.scope === marketplace) && now >= a.notBefore && now < a.expiresAt && store.revocationOf(acc) === undefined) return undefined
  }
  return `meter ${meter} is neither in the party's profile nor certified to it by an accreditor the marketplace trusts`
}

/** Admits a party to trade in a marketplace with a meter; returns its profile's location. */
export async function admitTrader (directory: Directory, now: number, marketplace: string, party: string, action: MarketAction, meter: string, at?: Location): Promise<TradeAdmission> {
  const admission = await directory.admit(marketplace, party, action, meter)
  if (!admission.ok) return admission
  const location = directory.store.profiles.get(party)?.record.body.location
  if (location === undefined) return { ok: false, reason: 'unknown-party', detail: `no profile of ${party}` }
  const unbound = meterBinding(directory.store, marketplace, party, meter, now)
  if (unbound !== undefined) return { ok: false, reason: 'meter-not-bound', detail: unbound }
  if (at !== undefined && canonicalize(at) !== canonicalize(location)) return { ok: false, reason: 'location-mismatch', detail: 'the delivery point is not the location in the party\'s signed profile' }
  return { ok: true, location }
}
