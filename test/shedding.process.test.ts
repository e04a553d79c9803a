// Load shedding over TCP between two processes: a building whose requester took seconds to answer
// its last commitment does not decide a request that would expire before a commitment to it could
// be answered (it would only be rejected `expired`), and still commits to one it can answer in time.
import { describe, it, expect, afterAll } from 'vitest'
import { Cluster, scenarioFile, type RequestSpec } from './helpers/cluster.js'

// Clock speed 1: the smoothed answer time is in real milliseconds.
const cluster = await Cluster.create(await scenarioFile('slice'), 1)
afterAll(async () => { await cluster.destroy() })

const PAUSE_MS = 4_000

describe('load shedding: requests the building could not answer before they expire', () => {
  it('are not decided after a slow answer; requests with time to spare still are', async () => {
    // The utility holds its first commitment answer for 4 s (once), as a requester under load would.
    await cluster.start('utility', { PAIRGRID_PAUSE_AT: 'requester:commitment-received', PAIRGRID_PAUSE_MS: String(PAUSE_MS) })
    await cluster.start('building-a')
    await cluster.waitForMesh(['utility', 'building-a'], 'utility-dr')
    const spec: RequestSpec = { ...cluster.scenario.requests[0]!, quantity: { value: 10_000, unit: 'W' } }

    const first = await cluster.request('utility', spec)
    const accepted = await cluster.waitFor('the first commitment accepted at the building', async () => await cluster.txOf('building-a', first, 'accepted'))
    expect(accepted.request).toBe(first)
    expect((await cluster.status('building-a')).refusals?.['too-late'] ?? 0).toBe(0)

    // Smoothed answer time now ≈ 0.2 × 4 s = 0.8 s: a request expiring in 0.3 s cannot be answered in time.
    const late = await cluster.request('utility', { ...spec, expiresInMs: 300 })
    await cluster.waitFor('the late request shed', async () => ((await cluster.status('building-a')).refusals?.['too-late'] ?? 0) >= 1 ? true : undefined, 10_000)

    const timely = await cluster.request('utility', { ...spec, expiresInMs: 60_000 })
    await cluster.waitFor('the timely request committed and accepted', async () => await cluster.txOf('building-a', timely, 'accepted'))
    expect((await cluster.status('building-a')).refusals?.['too-late']).toBe(1)
    // Nothing was signed for the shed request on either side.
    expect(await cluster.txOf('building-a', late)).toBeUndefined()
    expect(await cluster.txOf('utility', late)).toBeUndefined()
  }, 90_000)
})
