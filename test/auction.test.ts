import { describe, it, expect } from 'vitest'
import { clearAuction, type Bid } from '../src/market/auction.js'

const bid = (id: string, quantity: number, rate: number, issuedAt = 0): Bid => ({ id, quantity, rate, issuedAt })

describe('auction clearing rule', () => {
  it.each([
    {
      name: 'merit order fills the demand; uniform price is the highest winning rate',
      bids: [bid('a', 40, 120), bid('b', 30, 90), bid('c', 30, 150), bid('d', 50, 200)],
      demand: 100, reserve: 250, min: 10,
      winners: ['b', 'a', 'c'], rate: 150, cleared: 100, losers: { d: 'not-needed' }
    },
    {
      name: 'bids above the reserve and below the minimum lose with their reason',
      bids: [bid('a', 40, 300), bid('b', 5, 50), bid('c', 60, 100)],
      demand: 100, reserve: 250, min: 10,
      winners: ['c'], rate: 100, cleared: 60, losers: { a: 'above-reserve', b: 'below-minimum' }
    },
    {
      name: 'an indivisible bid that would exceed demand is skipped; a smaller later one still fits',
      bids: [bid('a', 70, 80), bid('b', 50, 90), bid('c', 30, 95)],
      demand: 100, reserve: 250, min: 10,
      winners: ['a', 'c'], rate: 95, cleared: 100, losers: { b: 'not-needed' }
    },
    {
      name: 'equal rates: the earlier bid wins, then the lower id',
      bids: [bid('z', 50, 100, 2), bid('y', 50, 100, 1), bid('x', 50, 100, 2)],
      demand: 100, reserve: 250, min: 10,
      winners: ['y', 'x'], rate: 100, cleared: 100, losers: { z: 'not-needed' }
    },
    {
      name: 'no eligible bid: no winner and no clearing rate',
      bids: [bid('a', 40, 300)],
      demand: 100, reserve: 250, min: 10,
      winners: [], rate: undefined, cleared: 0, losers: { a: 'above-reserve' }
    }
  ])('$name', ({ bids, demand, reserve, min, winners, rate, cleared, losers }) => {
    const c = clearAuction(bids, demand, reserve, min)
    expect(c.winners).toEqual(winners)
    expect(c.clearingRate).toBe(rate)
    expect(c.cleared).toBe(cleared)
    expect(Object.fromEntries(c.losers.map(l => [l.id, l.reason]))).toEqual(losers)
    expect(c.winners.length + c.losers.length).toBe(bids.length)
  })
})
