import { describe, it, expect } from 'vitest'
import { SettlementBacklog } from '../src/grid/settlement-backlog.js'

const R = 'requester-a'

describe('SettlementBacklog (no new commitments to a requester whose settlements are falling behind)', () => {
  it('is never at risk with nothing on its way, nor before the requester has answered twice', () => {
    const b = new SettlementBacklog()
    expect(b.atRisk(R, 0)).toBe(false)
    b.sent(R, 's1', 1_000)
    b.sent(R, 's2', 1_000)
    expect(b.atRisk(R, 999)).toBe(false)
    b.done(R, 's1', 10, true)
    expect(b.atRisk(R, 999)).toBe(false)
  })

  it('is at risk when the backlog cannot clear before its earliest expiry at the recent answer rate, and clears as answers come', () => {
    const b = new SettlementBacklog()
    // 100 settlements on their way, the earliest expiring at 5,000; answers come every 100 ms.
    for (let i = 0; i < 100; i++) b.sent(R, `s${i}`, i === 50 ? 5_000 : 60_000)
    for (let i = 0; i < 10; i++) b.done(R, `s${i}`, 100 * i, true)
    // 90 left at 100 ms each: 9 s to clear, from t=1,000 that is past 5,000.
    expect(b.atRisk(R, 1_000)).toBe(true)
    // Another requester is not affected.
    expect(b.atRisk('requester-b', 1_000)).toBe(false)
    // The one expiring soon is answered; the rest expire at 60,000: 89 × 100 ms fits.
    b.done(R, 's50', 1_000, true)
    expect(b.atRisk(R, 1_000)).toBe(false)
  })

  it('counts settlements given up as gone but not as answers, and an idle gap before a new burst as no slowness', () => {
    const b = new SettlementBacklog()
    b.sent(R, 'a', 10_000)
    b.sent(R, 'b', 10_000)
    b.done(R, 'a', 0, true)
    b.done(R, 'b', 10, true)
    // An hour later a new burst: the hour between the answers must not read as a slow requester.
    for (let i = 0; i < 50; i++) b.sent(R, `n${i}`, 3_600_000 + 60_000)
    b.done(R, 'n0', 3_600_000, true)
    b.done(R, 'n1', 3_600_010, true)
    expect(b.atRisk(R, 3_600_010)).toBe(false)
    // Given up (the retries ran out): no longer on its way, and no answer to time.
    for (let i = 2; i < 50; i++) b.done(R, `n${i}`, 3_700_000, false)
    expect(b.atRisk(R, 3_700_000)).toBe(false)
  })
})
