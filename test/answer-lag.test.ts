import { describe, it, expect } from 'vitest'
import { AnswerLag } from '../src/grid/answer-lag.js'

describe('AnswerLag (requests shed when a commitment could not be answered before they expire)', () => {
  it('with no answers seen, refuses only what has expired', () => {
    const lag = new AnswerLag()
    expect(lag.inTime(1_000, 1_000)).toBe(false)
    expect(lag.inTime(999, 1_000)).toBe(false)
    expect(lag.inTime(1_001, 1_000)).toBe(true)
  })

  it('learns a slow requester, sheds requests expiring sooner than its answers come, and forgets it once answers are quick again', () => {
    const lag = new AnswerLag()
    for (let i = 0; i < 20; i++) lag.observe(10_000 * i, 10_000 * i + 1_000)
    expect(lag.ms).toBeGreaterThan(950)
    expect(lag.ms).toBeLessThan(1_000)
    const now = 500_000
    expect(lag.inTime(now + 900, now)).toBe(false)
    expect(lag.inTime(now + 1_500, now)).toBe(true)
    for (let i = 0; i < 20; i++) lag.observe(now + i, now + i + 10)
    expect(lag.ms).toBeLessThan(30)
    expect(lag.inTime(now + 900, now)).toBe(true)
  })

  it('an answer dated before its commitment (clock skew) counts as instant, not as a negative lag', () => {
    const lag = new AnswerLag()
    lag.observe(5_000, 4_000)
    expect(lag.ms).toBe(0)
  })
})
