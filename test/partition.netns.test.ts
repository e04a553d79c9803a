// Partitions: the utility and the building in separate network namespaces joined by a veth link.
// Taking the link down during the commitment and during the settlement, retries with backoff
// complete the transaction once it heals; held down past the deadline, each side ends in its own
// signed expiry — never silently. Needs root and `ip netns`; skipped with a message otherwise.
import { describe, it, expect, afterAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Cluster, scenarioFile } from './helpers/cluster.js'
import { spawnNode } from '../src/cli/devnet/processes.js'
import { dataPaths } from '../src/node/data-dir.js'

function netnsAvailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  try {
    const probe = `pg-probe-${randomBytes(3).toString('hex')}`
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' })
    return undefined
  } catch (err) {
    return `ip netns unavailable: ${(err as Error).message.split('\n')[0] ?? ''}`
  }
}
const unavailable = netnsAvailable()
if (unavailable !== undefined) console.log(`partition tests skipped: ${unavailable} (they need root and ip netns to build two network namespaces)`)

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'ignore' }) }
const tag = randomBytes(2).toString('hex')
const subnet = `10.213.${parseInt(tag, 16) % 250}`
const ns = { utility: `pg-u-${tag}`, 'building-a': `pg-b-${tag}` }
const vethU = `pgu${tag}`
const vethB = `pgb${tag}`

function setUpNamespaces (): void {
  ip('netns', 'add', ns.utility)
  ip('netns', 'add', ns['building-a'])
  ip('link', 'add', vethU, 'netns', ns.utility, 'type', 'veth', 'peer', 'name', vethB, 'netns', ns['building-a'])
  ip('-n', ns.utility, 'addr', 'add', `${subnet}.1/24`, 'dev', vethU)
  ip('-n', ns['building-a'], 'addr', 'add', `${subnet}.2/24`, 'dev', vethB)
  for (const [n, dev] of [[ns.utility, vethU], [ns['building-a'], vethB]] as const) {
    ip('-n', n, 'link', 'set', 'lo', 'up')
    ip('-n', n, 'link', 'set', dev, 'up')
  }
}
const link = (up: boolean): void => ip('-n', ns['building-a'], 'link', 'set', vethB, up ? 'up' : 'down')

afterAll(() => {
  if (unavailable !== undefined) return
  for (const n of Object.values(ns)) { try { ip('netns', 'del', n) } catch { /* already gone */ } }
})

async function clusterIn (speed: number, pauseAt: string, pauseMs: number): Promise<Cluster> {
  const cluster = await Cluster.create(await scenarioFile('slice'), speed)
  for (const name of ['utility', 'building-a'] as const) {
    const path = dataPaths(cluster.dir(name)).config
    await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), listenBeyondLoopback: true }))
  }
  const common = { clockOrigin: `${cluster.origin.wall}:${cluster.origin.sim}`, speed }
  const utility = await spawnNode({ ...common, name: 'utility', dir: cluster.dir('utility'), bootstrap: [], listen: `/ip4/${subnet}.1/tcp/0`, wrap: ['ip', 'netns', 'exec', ns.utility] })
  cluster.nodes.set('utility', utility)
  const addr = (await cluster.status('utility')).addrs.find(a => a.includes(subnet))!
  const building = await spawnNode({ ...common, name: 'building-a', dir: cluster.dir('building-a'), bootstrap: [addr], listen: `/ip4/${subnet}.2/tcp/0`, wrap: ['ip', 'netns', 'exec', ns['building-a']], env: { PAIRGRID_PAUSE_AT: pauseAt, PAIRGRID_PAUSE_MS: String(pauseMs) } })
  cluster.nodes.set('building-a', building)
  await cluster.waitForMesh(['utility', 'building-a'], 'utility-dr')
  return cluster
}

const healed: string[] = []

describe.skipIf(unavailable !== undefined)('partitions between network namespaces', () => {
  it('a partition during the commitment heals: retries with backoff complete it', async () => {
    setUpNamespaces()
    const cluster = await clusterIn(60, 'provider:commitment-persisted', 2000)
    try {
      const request = await cluster.scenarioRequest(0)
      // The building has signed and logged its commitment and is about to send it: cut the link.
      await cluster.waitFor('the commitment', async () => await cluster.txOf('building-a', request, 'proposed'), 30_000)
      link(false)
      await new Promise(resolve => setTimeout(resolve, 4000))
      link(true)
      const tx = await cluster.waitFor('settlement after healing', async () => await cluster.txOf('utility', request, 'settled'), 120_000)
      // The building has it once the countersigned answer is back and on its disk (a moment later).
      expect((await cluster.waitFor('settled at the building', async () => await cluster.txOf('building-a', request, 'settled'), 30_000)).id).toBe(tx.id)
      healed.push(`commitment: settled ${tx.id.slice(0, 10)}`)
    } finally {
      await cluster.destroy()
    }
  }, 180_000)

  it('a partition during the settlement heals: the countersignature comes after it', async () => {
    const cluster = await clusterIn(120, 'provider:settlement-signed', 2000)
    try {
      const request = await cluster.scenarioRequest(0)
      await cluster.waitFor('the signed settlement', async () => await cluster.txOf('building-a', request, 'settling'), 120_000)
      link(false)
      await new Promise(resolve => setTimeout(resolve, 4000))
      link(true)
      await cluster.waitFor('countersignature after healing', async () => await cluster.txOf('building-a', request, 'settled'), 120_000)
      expect((await cluster.txOf('utility', request))?.status).toBe('settled')
      healed.push('settlement: settled')
    } finally {
      await cluster.destroy()
    }
  }, 180_000)

  it('held down past the deadlines, both sides sign expiries: nothing ends silently', async () => {
    const cluster = await clusterIn(240, 'provider:settlement-signed', 2000)
    try {
      const request = await cluster.scenarioRequest(0)
      await cluster.waitFor('the signed settlement', async () => await cluster.txOf('building-a', request, 'settling'), 120_000)
      link(false)
      const building = await cluster.waitFor('the building\'s expiry', async () => await cluster.txOf('building-a', request, 'expired'), 120_000)
      const utility = await cluster.waitFor('the utility\'s expiry', async () => await cluster.txOf('utility', request, 'expired'), 120_000)
      link(true)
      expect(building.expiry).toMatch(/^uncountersigned: the requester did not countersign/)
      expect(utility.expiry).toMatch(/^unsettled: no settlement from the provider/)
      const entries = await cluster.node('utility').control.call<Array<{ record: { type: string, sigs: Array<{ by: string }> } }>>('GET', `/v1/log?tx=${utility.id}&type=grid.expiry`)
      expect(entries).toHaveLength(1)
      expect(entries[0]!.record.sigs[0]!.by).toBe((await cluster.status('utility')).party)
    } finally {
      await cluster.destroy()
    }
  }, 180_000)

  it('reports the partitions healed', () => {
    console.log(`partitions healed: ${healed.length}/2 (${healed.join('; ')})`)
    expect(healed).toHaveLength(2)
  })
})
