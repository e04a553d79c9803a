// Real nodes as separate OS processes for multi-process tests, on a shared accelerated clock.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initNode } from '../../src/node/init.js'
import { spawnNode, stopNode, type NodeProcess } from '../../src/cli/devnet/processes.js'
import type { TxView } from '../../src/node/node.js'
import type { Role } from '../../src/node/config.js'

export interface ClusterParty { name: string, role: Role, marketplaces?: string[] }

export class Cluster {
  readonly nodes = new Map<string, NodeProcess>()
  readonly origin = { wall: Date.now(), sim: Date.UTC(2026, 10, 21, 14, 0) }

  private constructor (readonly root: string, readonly speed: number) {}

  static async create (speed: number): Promise<Cluster> {
    return new Cluster(await mkdtemp(join(tmpdir(), 'pairgrid-test-')), speed)
  }

  simNow (): number { return this.origin.sim + (Date.now() - this.origin.wall) * this.speed }

  dir (name: string): string { return join(this.root, name) }

  async init (p: ClusterParty): Promise<void> {
    await initNode(this.dir(p.name), { name: p.name, role: p.role, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], marketplaces: p.marketplaces ?? ['utility-dr'], meterIntervalMs: 10_000 })
  }

  async start (name: string, bootstrapFrom?: string): Promise<NodeProcess> {
    const bootstrap = bootstrapFrom === undefined ? [] : [(await this.status(bootstrapFrom)).addrs[0]!]
    const proc = await spawnNode({ name, dir: this.dir(name), bootstrap, clockOrigin: `${this.origin.wall}:${this.origin.sim}`, speed: this.speed })
    this.nodes.set(name, proc)
    return proc
  }

  node (name: string): NodeProcess {
    const n = this.nodes.get(name)
    if (n === undefined) throw new Error(`no node ${name}`)
    return n
  }

  async status (name: string): Promise<{ addrs: string[], party: string, marketplaces: Record<string, { meshPeers: number }> }> {
    return await this.node(name).control.call('GET', '/v1/status')
  }

  async transactions (name: string): Promise<TxView[]> {
    return await this.node(name).control.call('GET', '/v1/transactions')
  }

  async waitFor<T> (what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const v = await probe().catch(() => undefined)
      if (v !== undefined) return v
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  async waitForMesh (names: string[], marketplace = 'utility-dr'): Promise<void> {
    for (const n of names) {
      await this.waitFor(`${n} mesh`, async () => (await this.status(n)).marketplaces[marketplace]!.meshPeers > 0 ? true : undefined)
    }
  }

  /** Publishes a 15-minute DR request starting `leadMinutes` after now, from `by`. */
  async requestDr (by: string, kw: number, leadMinutes = 16): Promise<string> {
    const start = Math.ceil((this.simNow() + leadMinutes * 60_000) / 60_000) * 60_000
    const res = await this.node(by).control.call<{ id: string }>('POST', '/v1/requests', {
      marketplace: 'utility-dr',
      service: 'demand-response',
      window: { start, end: start + 15 * 60_000 },
      quantity: { value: kw * 1000, unit: 'W' },
      price: { mechanism: 'tariff', reference: 'tariff/test', currency: 'USD', rate: 150_000, rateUnit: 'MWh' },
      settlementMethod: 'pairgrid/dr-mbe/1',
      toleranceBp: 1000
    })
    return res.id
  }

  async txOf (name: string, requestId: string, status?: string): Promise<TxView | undefined> {
    return (await this.transactions(name)).find(t => t.request === requestId && (status === undefined || t.status === status))
  }

  async stop (): Promise<void> {
    await Promise.all([...this.nodes.values()].map(async n => await stopNode(n)))
    this.nodes.clear()
  }

  async destroy (): Promise<void> {
    await this.stop()
    await rm(this.root, { recursive: true, force: true })
  }
}
