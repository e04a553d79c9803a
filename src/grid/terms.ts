// A commitment must name the same terms as the request it answers (seed 000, step 2); the
// price terms in particular must be consistent or the pair cannot settle.
import { canonicalize } from '../records/canonical.js'
import type { AcceptanceBody, CommitmentBody, RequestBody } from '../records/grid-schemas.js'

export function termsMismatch (request: RequestBody, commitment: CommitmentBody): string | undefined {
  for (const k of ['marketplace', 'requester', 'service', 'window', 'settlementMethod'] as const) {
    if (canonicalize(request[k]) !== canonicalize(commitment[k])) return `commitment ${k} differs from the request's`
  }
  const rp = request.price
  const cp = commitment.price
  if (rp.mechanism === 'auction') {
    // The commitment is a sealed bid: same terms, a rate at or under the reserve.
    if (canonicalize({ ...cp, rate: 0 }) !== canonicalize({ ...rp, rate: 0 })) return 'bid price terms differ from the auction\'s'
    if (cp.rate > rp.rate) return `bid rate ${cp.rate} exceeds the reserve ${rp.rate}`
  } else if (canonicalize(rp) !== canonicalize(cp)) {
    return 'commitment price differs from the request\'s'
  }
  if (commitment.quantity.unit !== request.quantity.unit) return 'commitment quantity unit differs from the request\'s'
  if (commitment.quantity.value > request.quantity.value) return `commitment quantity ${commitment.quantity.value} exceeds the requested ${request.quantity.value}`
  return undefined
}

/**
 * An acceptance's price: only an auction's carries one — the clearing price, on the bid's terms,
 * at or above the bid and at or under the reserve.
 */
export function acceptancePriceFault (request: RequestBody, commitment: CommitmentBody, acceptance: AcceptanceBody): string | undefined {
  const p = acceptance.price
  if (request.price.mechanism !== 'auction') return p === undefined ? undefined : 'only an auction\'s acceptance carries a price'
  if (p === undefined) return 'an auction\'s acceptance must carry the clearing price'
  if (canonicalize({ ...p, rate: 0 }) !== canonicalize({ ...commitment.price, rate: 0 })) return 'clearing price terms differ from the bid\'s'
  if (p.rate < commitment.price.rate || p.rate > request.price.rate) return `clearing rate ${p.rate} is outside bid ${commitment.price.rate} .. reserve ${request.price.rate}`
  return undefined
}
