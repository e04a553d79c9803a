// The commitment herd: every provider of a marketplace hears a first-come (tariff) request at
// once, and each that can serve it would commit, though all but the first are refused `filled` —
// each loser planning, signing, logging and streaming a commitment, and the requester verifying,
// signing and logging a rejection of each. Instead the providers take turns in waves: every node
// ranks the marketplace's providers it knows for the request by rendezvous hashing (the same
// order on every node that knows the same providers), rank 0 decides at once, ranks 1–2 one slot
// later, ranks 3–6 two slots later, and so on (wave ⌊log₂(rank + 1)⌋: each wave twice the last,
// so 10,000 providers are 14 waves deep). The requester announces the fill (`grid.filled`) and
// providers still waiting drop the request. A slot is what the first commitment needs to be
// answered and the fill to be heard, from the provider's own answer times.
import { createHash } from 'node:crypto'
import type { CredentialStore } from '../credentials/store.js'
import type { MarketMembership } from '../net/members.js'

/** A slot with no answer seen yet, and added to what answers show (wall ms). */
export const SLOT_FLOOR_MS = 5
/** A slot is this many times the provider's smoothed commitment → answer time (the notice follows the answer). */
export const LAG_MULTIPLE = 2
/** No provider waits longer than this (wall ms), however deep its wave. */
export const MAX_DELAY_MS = 1_000
/** Nor longer than this share of the wall time the request has left. */
export const SHARE_OF_TIME_LEFT = 0.25

/** The wave of a provider ranked `rank` (0-based): 0, 1, 1, 2, 2, 2, 2, 3, … */
export function waveOf (rank: number): number {
  return 31 - Math.clz32(rank + 1)
}

/** How long (wall ms) a provider ranked `rank` waits, answers taking `answerLagMs` and `timeLeftMs` until the request expires. */
export function commitDelayMs (rank: number, answerLagMs: number, timeLeftMs: number): number {
  const wave = waveOf(rank)
  if (wave === 0) return 0
  return Math.floor(Math.max(0, Math.min(wave * (SLOT_FLOOR_MS + LAG_MULTIPLE * answerLagMs), MAX_DELAY_MS, timeLeftMs * SHARE_OF_TIME_LEFT)))
}

/** Keys of the parties ranked so far: one hash per party, not per request. */
const keys = new Map<string, number>()

/** A party's fixed 32-bit key for the ranking: the first 4 bytes of SHA-256 of its id. */
export function partyKey (party: string): number {
  let key = keys.get(party)
  if (key === undefined) keys.set(party, key = createHash('sha256').update(party).digest().readUInt32BE(0))
  return key
}

/** MurmurHash3's 32-bit finaliser: a bijection that mixes every input bit into every output bit. */
function mix (h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * The rank of `self` for `request` (a hex record id) among `providers` (self counted whether
 * listed or not): how many score below it, score = mix(first 32 bits of the id XOR party key),
 * ties by party id. O(providers) integer work per request.
 */
export function rankOf (request: string, self: string, providers: readonly MarketProvider[]): number {
  const seed = Number.parseInt(request.slice(0, 8), 16)
  const own = mix(seed ^ partyKey(self))
  let rank = 0
  for (const p of providers) {
    if (p.party === self) continue
    const s = mix(seed ^ p.key)
    if (s < own || (s === own && p.party < self)) rank++
  }
  return rank
}

export interface MarketProvider { party: string, key: number }

/** How often (wall ms) a marketplace's providers are listed again when nobody joined it. */
const RELIST_MS = 10_000

/**
 * Parties that may provide in a marketplace, as far as this node knows them: those whose profile
 * was announced on the marketplace's members topic (a node in several marketplaces knows parties
 * of all of them) and whose kind its governance lets provide (accreditations not checked: who
 * may take a turn, not who will be accepted). Listed again when someone joins, else every RELIST_MS.
 */
export class MarketProviders {
  private readonly listed = new Map<string, { providers: MarketProvider[], at: number, version: number }>()

  constructor (private readonly store: CredentialStore, private readonly members: MarketMembership) {}

  of (marketplace: string): readonly MarketProvider[] {
    const known = this.listed.get(marketplace)
    const { version } = this.members
    if (known !== undefined && known.version === version && Date.now() - known.at < RELIST_MS) return known.providers
    const kinds = new Set(this.store.governance.get(marketplace)?.record.body.roles.filter(r => r.may.includes('provide')).map(r => r.kind) ?? [])
    const providers: MarketProvider[] = []
    for (const party of this.members.partiesOf(marketplace)) {
      const kind = this.store.profiles.get(party)?.record.body.kind
      if (kind !== undefined && kinds.has(kind)) providers.push({ party, key: partyKey(party) })
    }
    this.listed.set(marketplace, { providers, at: Date.now(), version })
    return providers
  }
}
