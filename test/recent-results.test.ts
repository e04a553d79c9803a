import { describe, it, expect } from 'vitest'
import { RecentResults } from '../src/grid/recent-results.js'

describe('RecentResults', () => {
  it('asks made while a lookup runs, and soon after, share it; a failed lookup is asked again; a kept result expires', async () => {
    const recent = new RecentResults<number>(50)
    let lookups = 0
    const lookup = async (): Promise<number> => { lookups++; await new Promise(resolve => setTimeout(resolve, 10)); return lookups }
    expect(await Promise.all([recent.get('a', lookup), recent.get('a', lookup), recent.get('a', lookup)])).toEqual([1, 1, 1])
    expect(await recent.get('a', lookup)).toBe(1)
    expect(await recent.get('b', lookup)).toBe(2)
    await expect(recent.get('c', async () => { throw new Error('unreachable') })).rejects.toThrow('unreachable')
    expect(await recent.get('c', lookup)).toBe(3)
    await new Promise(resolve => setTimeout(resolve, 80))
    expect(await recent.get('a', lookup)).toBe(4)
  })
})
