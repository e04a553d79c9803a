import { describe, it, expect } from 'vitest'
import { createHash } from 'node:crypto'
import { commitDelayMs, LAG_MULTIPLE, MAX_DELAY_MS, partyKey, rankOf, SHARE_OF_TIME_LEFT, SLOT_FLOOR_MS, waveOf, type MarketProvider } from '../src/grid/commit-waves.js'

const id = (i: number): string => createHash('sha256').update(`request ${i}`).digest('hex')
const providers = (n: number): MarketProvider[] => Array.from({ length: n }, (_, i) => ({ party: `party-${i}`, key: partyKey(`party-${i}`) }))
const HOUR = 3_600_000

describe('commit waves (the commitment herd: state-machines.md §3.1)', () => {
  it('waves double: rank 0 alone, then 2, 4, 8 …', () => {
    expect([0, 1, 2, 3, 6, 7, 14, 15, 9_999].map(waveOf)).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 13])
  })

  it('rank 0 waits nothing; a wave waits its slots, a slot growing with the answer time, within the bounds', () => {
    expect(commitDelayMs(0, 500, HOUR)).toBe(0)
    expect(commitDelayMs(1, 0, HOUR)).toBe(SLOT_FLOOR_MS)
    expect(commitDelayMs(2, 10, HOUR)).toBe(SLOT_FLOOR_MS + LAG_MULTIPLE * 10)
    expect(commitDelayMs(5, 10, HOUR)).toBe(2 * (SLOT_FLOOR_MS + LAG_MULTIPLE * 10))
    expect(commitDelayMs(3, 60_000, HOUR)).toBe(MAX_DELAY_MS)
    expect(commitDelayMs(3, 10, 100)).toBe(100 * SHARE_OF_TIME_LEFT)
    expect(commitDelayMs(3, 10, -5)).toBe(0)
  })

  it('every provider of a request gets its own rank, the same on every node that knows the same providers', () => {
    const ps = providers(9)
    for (let i = 0; i < 50; i++) {
      const ranks = ps.map(p => rankOf(id(i), p.party, ps))
      expect([...ranks].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
      // Listed in another order, or self missing from the list: the same ranks.
      expect(ps.map(p => rankOf(id(i), p.party, [...ps].reverse()))).toEqual(ranks)
      expect(ps.map(p => rankOf(id(i), p.party, ps.filter(q => q !== p)))).toEqual(ranks)
    }
  })

  it('each provider is first about as often as the others, and the order changes with the request', () => {
    const ps = providers(9)
    const firsts = new Map<string, number>()
    const requests = 2_700
    let sameSecond = 0
    let previous = ''
    for (let i = 0; i < requests; i++) {
      const order = [...ps].sort((a, b) => rankOf(id(i), a.party, ps) - rankOf(id(i), b.party, ps))
      firsts.set(order[0]!.party, (firsts.get(order[0]!.party) ?? 0) + 1)
      if (order[1]!.party === previous) sameSecond++
      previous = order[1]!.party
    }
    // 300 expected each; a fair draw stays well within ±30 % (about 5 standard deviations).
    for (const p of ps) expect(Math.abs((firsts.get(p.party) ?? 0) - requests / ps.length)).toBeLessThan(0.3 * requests / ps.length)
    expect(sameSecond / requests).toBeLessThan(0.2)
  })
})
