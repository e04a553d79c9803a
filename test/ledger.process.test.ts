// Ledger state: every settlement carries both parties' log checkpoints, and a party that rewrites
// its history is caught at its next settlement by a counterparty holding an earlier checkpoint.
import { describe, it, expect, afterAll } from 'vitest'
import { join } from 'node:path'
import { Cluster, scenarioFile } from './helpers/cluster.js'
import { rewriteLogEntry } from './helpers/forge.js'
import { stopNode } from '../src/cli/devnet/processes.js'
import { readKeyFile } from '../src/identity/keyfile.js'
import { signRecord, type Envelope } from '../src/records/envelope.js'
import type { RequestBody } from '../src/records/grid-schemas.js'
import type { AuditBundle } from '../src/log/bundle.js'

const cluster = await Cluster.create(await scenarioFile('slice'), 300)
afterAll(async () => { await cluster.destroy() })

describe('ledger checkpoints at settlement', () => {
  it('carries both checkpoints; a rewritten log is disputed as fork-detected at the next settlement', async () => {
    await cluster.start('utility')
    await cluster.start('building-a')
    await cluster.waitForMesh(['utility', 'building-a'], 'utility-dr')

    const first = await cluster.scenarioRequest(0)
    const settled = await cluster.waitFor('the first settlement', async () => await cluster.txOf('utility', first, 'settled'), 90_000)
    const bundle = await cluster.node('utility').control.call<AuditBundle>('GET', `/v1/transactions/${settled.id}/bundle`)
    const ledger = (bundle.records[3]!.body as { ledger: { provider: { size: number }, requester: { size: number } } }).ledger
    expect(ledger.provider.size).toBeGreaterThan(0)
    expect(ledger.requester.size).toBeGreaterThan(0)

    // The building rewrites its first entry (the request it logged) and restarts as if nothing happened.
    await stopNode(cluster.node('building-a'))
    const utilityKeys = await readKeyFile(join(cluster.dir('utility'), 'keys', 'party.key'))
    const original = bundle.records[0]! as Envelope<'grid.request'>
    const forged = signRecord('grid.request', { ...original.body as RequestBody, nonce: 'f'.repeat(32) }, utilityKeys)
    await rewriteLogEntry(join(cluster.dir('building-a'), 'db'), 0, forged.record)
    await cluster.start('building-a')
    await cluster.waitForMesh(['utility', 'building-a'], 'utility-dr')

    const second = await cluster.scenarioRequest(0)
    const disputed = await cluster.waitFor('the second settlement to be disputed', async () => await cluster.txOf('utility', second, 'disputed'), 90_000)
    expect(disputed.dispute).toMatch(/^fork-detected: log of size \d+ .* does not extend the checkpoint we hold/)
    const atBuilding = await cluster.waitFor('the dispute at the building', async () => await cluster.txOf('building-a', second, 'disputed'))
    expect(atBuilding.dispute).toBe(disputed.dispute)
  }, 240_000)
})
