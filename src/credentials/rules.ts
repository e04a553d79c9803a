// Whether a request keeps its marketplace's rules and carries consistent price terms: the
// tariff it cites, the framework agreement it runs under, or the reserve of its auction.
import { canonicalize } from '../records/canonical.js'
import type { RequestBody } from '../records/grid-schemas.js'
import type { CredentialStore } from './store.js'

/** Violations of the governance document by a request, or undefined. */
export function governanceViolation (store: CredentialStore, r: RequestBody): string | undefined {
  const g = store.governance.get(r.marketplace)?.record.body
  if (g === undefined) return `no governance document for marketplace ${r.marketplace}`
  if (!g.services.includes(r.service)) return `${g.name} does not trade ${r.service}`
  if (!g.settlementMethods.includes(r.settlementMethod)) return `${g.name} does not admit settlement method ${r.settlementMethod}`
  if (!g.settlementIntervalsMs.includes(r.settlementIntervalMs)) return `${g.name} settles in intervals of ${g.settlementIntervalsMs.join(', ')} ms, not ${r.settlementIntervalMs}`
  if (r.toleranceBp !== g.toleranceBp) return `${g.name} sets the tolerance at ${g.toleranceBp} bp, the request says ${r.toleranceBp}`
  if (r.price.mechanism !== g.priceMechanism) return `${g.name} prices by ${g.priceMechanism}, the request by ${r.price.mechanism}`
  return undefined
}

/**
 * Price consistency from the provider's side: a tariff request must quote the published tariff,
 * a framework request the agreement this provider signed (and only this provider serves it).
 */
export function priceViolation (store: CredentialStore, r: RequestBody, provider: string): string | undefined {
  switch (r.price.mechanism) {
    case 'tariff': {
      const t = [...store.tariffs.values()].find(x => x.record.body.reference === r.price.reference && x.record.body.marketplace === r.marketplace)?.record.body
      if (t === undefined) return `no published tariff ${r.price.reference} in this marketplace`
      const operator = store.governance.get(r.marketplace)?.record.body.operator
      if (t.issuer !== r.requester && t.issuer !== operator) return `tariff ${r.price.reference} was published neither by the requester nor by the marketplace's operator`
      if (t.service !== r.service) return `tariff ${r.price.reference} prices ${t.service}, not ${r.service}`
      if (r.window.start < t.validFrom || r.window.end > t.validUntil) return `tariff ${r.price.reference} is not in force over the window`
      if (canonicalize(t.price) !== canonicalize(r.price)) return `request price ${r.price.rate} ${r.price.currency}/${r.price.rateUnit} differs from tariff ${r.price.reference} (${t.price.rate})`
      return undefined
    }
    case 'framework': {
      const a = [...store.frameworks.values()].find(x => x.record.body.reference === r.price.reference)?.record.body
      if (a === undefined) return `no framework agreement ${r.price.reference}`
      if (a.requester !== r.requester || a.provider !== provider || a.marketplace !== r.marketplace) return `framework agreement ${r.price.reference} is between other parties`
      if (!a.services.includes(r.service)) return `framework agreement ${r.price.reference} does not cover ${r.service}`
      if (r.window.start < a.validFrom || r.window.end > a.validUntil) return `framework agreement ${r.price.reference} is not in force over the window`
      if (r.quantity.unit !== a.maxQuantity.unit || r.quantity.value > a.maxQuantity.value) return `request exceeds the agreement's ${a.maxQuantity.value} ${a.maxQuantity.unit}`
      if (canonicalize(a.price) !== canonicalize(r.price)) return `request price ${r.price.rate} differs from the agreement's ${a.price.rate}`
      return undefined
    }
    case 'auction':
      return undefined
  }
}
