// Kill -9 the building after its commitment is accepted; restarted on the same data dir, the
// transaction still settles, and no record is lost or duplicated.
import { describe, it, expect, afterAll } from 'vitest'
import { join } from 'node:path'
import { Cluster, scenarioFile } from './helpers/cluster.js'
import { killNode } from '../src/cli/devnet/processes.js'
import type { LogEntry } from '../src/log/record-log.js'
import { logEntries } from './helpers/log-entries.js'
import { verifyBundle, type AuditBundle } from '../src/log/bundle.js'
import { canonicalize } from '../src/records/canonical.js'

const cluster = await Cluster.create(await scenarioFile('slice'), 300)
afterAll(async () => { await cluster.destroy() })


describe('crash: kill -9 of the building after acceptance', () => {
  it('restarts on the same data dir and settles with nothing lost or duplicated', async () => {
    await cluster.start('utility')
    await cluster.start('building-a')
    await cluster.waitForMesh(['utility', 'building-a'], 'utility-dr')

    const requestId = await cluster.scenarioRequest(0)
    const accepted = await cluster.waitFor('acceptance at the building', async () => await cluster.txOf('building-a', requestId, 'accepted'))
    const before = cluster.node('building-a').child.pid
    await killNode(cluster.node('building-a'))
    expect(cluster.simNow()).toBeLessThan(accepted.window.start)

    await cluster.start('building-a')
    expect(cluster.node('building-a').child.pid).not.toBe(before)
    const settled = await cluster.waitFor('settlement at the utility', async () => await cluster.txOf('utility', requestId, 'settled'), 90_000)
    expect(settled.id).toBe(accepted.id)
    const atBuilding = await cluster.waitFor('settlement at the building', async () => await cluster.txOf('building-a', requestId, 'settled'))
    expect(atBuilding.amount).toEqual(settled.amount)

    const bundle = await cluster.node('utility').control.call<AuditBundle>('GET', `/v1/transactions/${settled.id}/bundle`)
    expect(verifyBundle(bundle).ok).toBe(true)
    await cluster.stop()

    // One transaction: request, commitment, acceptance, settlement (+ its countersigned version at the building).
    const building = await logEntries(cluster.dir('building-a'))
    const kinds = building.map(e => `${e.kind}:${e.record.type}`)
    expect(kinds).toEqual(['record:grid.request', 'record:grid.commitment', 'record:grid.acceptance', 'record:grid.settlement', 'cosign:grid.settlement'])
    expect(new Set(building.filter(e => e.kind === 'record').map(e => e.id)).size).toBe(4)
    const utility = await logEntries(cluster.dir('utility'))
    expect(utility.map(e => e.record.type)).toEqual(['grid.request', 'grid.commitment', 'grid.acceptance', 'grid.settlement'])
    expect(canonicalize(utility.at(-1)!.record)).toBe(canonicalize(building.at(-1)!.record))
  }, 150_000)
})
