// The commitment herd over TCP between separate processes: six buildings hear every first-come
// request at once; they take turns in waves (commit-waves.ts), the first to commit is accepted,
// and the utility's fill notice stops buildings still waiting from committing only to be refused.
import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { BUILDING_ACCREDITATIONS, DR_PRICE, drScenario } from './helpers/dr-marketplace.js'
import { Cluster } from './helpers/cluster.js'

const BUILDINGS = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6']
const REQUESTS = 12

const scenario = drScenario('herd', 'six buildings compete for every request', 60, 2000, [
  { name: 'utility', kind: 'distribution-utility', marketplaces: ['dr'], accreditations: [] },
  ...BUILDINGS.map(name => ({ name, kind: 'building', marketplaces: ['dr'], building: 'small', accreditations: [...BUILDING_ACCREDITATIONS] }))
])

const cluster = await Cluster.create(scenario, 60)
afterAll(async () => { await cluster.destroy() })

beforeAll(async () => {
  await cluster.start('utility')
  for (const b of BUILDINGS) await cluster.start(b)
  await cluster.waitForMesh(['utility', ...BUILDINGS], 'dr')
}, 120_000)

describe('first-come requests with six providers', () => {
  it('each is accepted once; every other building either drops it on the fill notice or is rejected filled, and some drop it', async () => {
    const filledBefore = await Promise.all(BUILDINGS.map(async b => (await cluster.status(b)).refusals?.filled ?? 0))
    const requests: string[] = []
    for (let i = 0; i < REQUESTS; i++) {
      const id = await cluster.request('utility', { marketplace: 'dr', service: 'demand-response', quantity: { value: 2000, unit: 'W' }, price: DR_PRICE, settlementMethod: 'pairgrid/dr-mbe/1', toleranceBp: 1000, leadMinutes: 20 + 2 * i })
      requests.push(id)
      // One request at a time: each is accepted, and every building still waiting has heard of it.
      await cluster.waitFor(`request ${i} accepted`, async () => await cluster.txOf('utility', id, 'accepted'))
      await new Promise(resolve => setTimeout(resolve, 300))
    }
    const utilityTxs = await cluster.transactions('utility')
    const buildingTxs = await Promise.all(BUILDINGS.map(async b => await cluster.transactions(b)))
    const dropped = (await Promise.all(BUILDINGS.map(async b => (await cluster.status(b)).refusals?.filled ?? 0))).map((n, i) => n - filledBefore[i]!)
    let rejectedFilled = 0
    for (const id of requests) {
      const answers = utilityTxs.filter(t => t.request === id)
      expect(answers.filter(t => t.status === 'accepted' || t.status === 'settled')).toHaveLength(1)
      expect(answers.every(t => t.status === 'accepted' || t.status === 'settled' || t.rejection === 'filled')).toBe(true)
      rejectedFilled += answers.filter(t => t.rejection === 'filled').length
      // What the utility answered is what the buildings committed.
      expect(buildingTxs.reduce((n, txs) => n + txs.filter(t => t.request === id).length, 0)).toBe(answers.length)
    }
    // Every building that did not win a request either committed and was refused, or dropped it;
    // after the first few requests (no answer time known yet: one-slot waves of 5 ms) most drop it.
    const drops = dropped.reduce((a, b) => a + b, 0)
    const losers = REQUESTS * (BUILDINGS.length - 1)
    expect(rejectedFilled + drops).toBe(losers)
    expect(drops).toBeGreaterThanOrEqual(losers / 3)
    // The order changes with the request: more than one building wins.
    const winners = new Set(utilityTxs.filter(t => requests.includes(t.request) && (t.status === 'accepted' || t.status === 'settled')).map(t => t.counterparty))
    expect(winners.size).toBeGreaterThan(1)
  }, 120_000)
})
