// Admission over TCP between separate processes: parties that are unaccredited, expired,
// revoked or in the wrong role are rejected at the gossip layer (as requesters) and at the
// commit stream (as providers).
import { BUILDING_ACCREDITATIONS, DR_PRICE, drScenario } from './helpers/dr-marketplace.js'
import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { Cluster } from './helpers/cluster.js'
import { credentialFile } from '../src/cli/devnet/provision.js'
import { readKeyFile } from '../src/identity/keyfile.js'
import { signRecord } from '../src/records/envelope.js'
import type { Verified } from '../src/records/envelope.js'

const scenario = drScenario('admission', 'admission cases', 120, 2000, [
  { name: 'utility', kind: 'distribution-utility', marketplaces: ['dr'], accreditations: [] },
  { name: 'good', kind: 'building', marketplaces: ['dr'], building: 'small', accreditations: [...BUILDING_ACCREDITATIONS] },
  { name: 'unaccredited', kind: 'building', marketplaces: ['dr'], building: 'small', accreditations: [BUILDING_ACCREDITATIONS[0], BUILDING_ACCREDITATIONS[2]] },
  { name: 'expired', kind: 'building', marketplaces: ['dr'], building: 'small', accreditations: [BUILDING_ACCREDITATIONS[0], { kind: 'dr-enrollment', by: 'utility', expiresAfterMinutes: 1 }, BUILDING_ACCREDITATIONS[2]] },
  { name: 'revoked', kind: 'building', marketplaces: ['dr'], building: 'small', accreditations: [...BUILDING_ACCREDITATIONS] },
  { name: 'wrong-role', kind: 'ev-site', marketplaces: ['dr'], building: 'small', accreditations: [...BUILDING_ACCREDITATIONS] },
  { name: 'cca-expired', kind: 'community-energy', marketplaces: ['dr'], accreditations: [{ kind: 'operating-license', by: 'regulator', expiresAfterMinutes: 1 }] },
  { name: 'peer-rogue', kind: 'peer-facility', marketplaces: ['dr'], accreditations: [] }
])

const cluster = await Cluster.create(scenario, 120)
afterAll(async () => { await cluster.destroy() })
const names = scenario.parties.map(p => p.name)

// "good" joins later: while it runs, the first request it commits to is filled and the others,
// still waiting for their wave, drop it on the fill notice instead of committing.
const allButGood = names.filter(n => n !== 'good')
beforeAll(async () => {
  await cluster.start('utility')
  for (const n of allButGood.slice(1)) await cluster.start(n)
  await cluster.waitForMesh(allButGood, 'dr')
}, 120_000)

const dr = (kw: number): Parameters<Cluster['request']>[1] => ({ marketplace: 'dr', service: 'demand-response', quantity: { value: kw * 1000, unit: 'W' }, price: DR_PRICE, settlementMethod: 'pairgrid/dr-mbe/1', toleranceBp: 1000, leadMinutes: 20 })

describe('admission over TCP', () => {
  it('the commit stream rejects unaccredited, expired, revoked and wrong-role providers with signed reasons', async () => {
    // Revoke "revoked"'s enrollment: the utility (its accreditor) signs, its node relays it.
    const enrollment = (await credentialFile(cluster.root, 'revoked')).find(r => r.type === 'credential.accreditation' && (r.body as { kind: string }).kind === 'dr-enrollment')!
    const utilityKeys = await readKeyFile(`${cluster.dir('utility')}/keys/party.key`)
    const { recordId } = await import('../src/records/envelope.js')
    const revocation = signRecord('credential.revocation', { accreditor: utilityKeys.id, accreditation: recordId(enrollment), reason: 'enrollment terminated', issuedAt: cluster.simNow() }, utilityKeys)
    await cluster.node('utility').control.call('POST', '/v1/credentials', { records: [revocation.record] })
    // "expired" and "cca-expired" lapse one simulated minute after the start.
    await cluster.waitFor('accreditations to lapse', async () => cluster.simNow() > cluster.origin.sim + 2 * 60_000 ? true : undefined)

    const answerOf = async (n: string, requestId: string): Promise<string> => {
      const tx = await cluster.waitFor(`${n}'s answer`, async () => {
        const t = await cluster.txOf(n, requestId)
        return t !== undefined && t.status !== 'proposed' ? t : undefined
      })
      return tx.status === 'rejected' ? tx.rejection ?? '?' : tx.status
    }
    const requestId = await cluster.request('utility', dr(5))
    for (const n of ['unaccredited', 'expired', 'revoked', 'wrong-role']) expect(await answerOf(n, requestId)).toBe('not-admitted')
    const utilityTxs = await cluster.transactions('utility')
    const logOf = async (name: string): Promise<string> => {
      const party = (await cluster.status(name)).party
      const tx = utilityTxs.find(t => t.request === requestId && t.counterparty === party)!
      const entries = await cluster.node('utility').control.call<Array<{ record: Verified['record'] }>>('GET', `/v1/log?tx=${tx.id}&type=grid.rejection`)
      return (entries[0]!.record.body as { detail: string }).detail
    }
    expect(await logOf('unaccredited')).toMatch(/^unaccredited: no dr-enrollment/)
    expect(await logOf('expired')).toMatch(/^expired:/)
    expect(await logOf('revoked')).toMatch(/^revoked: .*enrollment terminated/)
    expect(await logOf('wrong-role')).toMatch(/^wrong-role: a ev-site may not provide/)

    await cluster.start('good')
    await cluster.waitForMesh(names, 'dr')
    expect(await answerOf('good', await cluster.request('utility', dr(5)))).toBe('accepted')
  }, 120_000)

  it('the gossip layer rejects requests from requesters not admitted, and nobody commits to them', async () => {
    const before = (await cluster.status('good')).gossip.rejected
    const rogue = await cluster.request('peer-rogue', dr(5))
    const lapsed = await cluster.request('cca-expired', dr(5))
    await cluster.waitFor('gossip rejections at the building', async () => {
      const r = (await cluster.status('good')).gossip.rejected
      return (r['wrong-role'] ?? 0) > (before['wrong-role'] ?? 0) && (r.expired ?? 0) > (before.expired ?? 0) ? r : undefined
    })
    await new Promise(resolve => setTimeout(resolve, 1000))
    for (const n of ['good', 'utility']) {
      expect(await cluster.txOf(n, rogue)).toBeUndefined()
      expect(await cluster.txOf(n, lapsed)).toBeUndefined()
    }
  }, 60_000)
})
