// Real nodes as separate OS processes for multi-process tests, on a shared accelerated clock,
// provisioned from a scenario exactly as the devnet does it.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnNode, stopNode, type NodeProcess } from '../../src/cli/devnet/processes.js'
import { provision, type Provisioned } from '../../src/cli/devnet/provision.js'
import { readScenario, type Scenario } from '../../src/cli/devnet/scenario.js'
import { packageRoot } from '../../src/node/package-root.js'
import type { TxView } from '../../src/node/node.js'
import type { Price, Quantity, ServiceType } from '../../src/records/common-schemas.js'

export async function scenarioFile (name: string): Promise<Scenario> {
  return await readScenario(join(packageRoot(), 'devnet', `${name}.json`))
}

export interface RequestSpec {
  marketplace: string
  service: ServiceType
  quantity: Quantity
  price: Price
  settlementMethod: string
  toleranceBp: number
  leadMinutes?: number
  durationMinutes?: number
  settlementIntervalMs?: number
  /** The request expires this long (clock ms) after it is published, not at its window's start. */
  expiresInMs?: number
}

export class Cluster {
  readonly nodes = new Map<string, NodeProcess>()
  readonly origin = { wall: Date.now(), sim: Date.UTC(2026, 10, 21, 14, 0) }
  ids!: Provisioned

  private constructor (readonly root: string, readonly speed: number, readonly scenario: Scenario) {}

  static async create (scenario: Scenario, speed: number): Promise<Cluster> {
    const c = new Cluster(await mkdtemp(join(tmpdir(), 'pairgrid-test-')), speed, scenario)
    c.ids = await provision(scenario, c.root, c.origin.sim)
    return c
  }

  simNow (): number { return this.origin.sim + (Date.now() - this.origin.wall) * this.speed }

  dir (name: string): string { return join(this.root, name) }

  market (name: string): string { return this.ids.marketplaces.get(name)! }

  /** Starts a node dialling every node already running (gossipsub discovers no peers itself). */
  async start (name: string, env?: Record<string, string>): Promise<NodeProcess> {
    this.nodes.delete(name)
    const running = [...this.nodes].filter(([, p]) => p.child.exitCode === null && p.child.signalCode === null).map(([n]) => n)
    const bootstrap = await Promise.all(running.map(async n => (await this.status(n)).addrs[0]!))
    const proc = await spawnNode({ name, dir: this.dir(name), bootstrap, clockOrigin: `${this.origin.wall}:${this.origin.sim}`, speed: this.speed, ...(env !== undefined ? { env } : {}) })
    this.nodes.set(name, proc)
    return proc
  }

  node (name: string): NodeProcess {
    const n = this.nodes.get(name)
    if (n === undefined) throw new Error(`no node ${name}`)
    return n
  }

  async status (name: string): Promise<{ addrs: string[], party: string, marketplaces: Record<string, { meshPeers: number }>, gossip: { accepted: number, rejected: Record<string, number> }, refusals?: Record<string, number> }> {
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

  async waitForMesh (names: string[], marketplace: string): Promise<void> {
    const id = this.market(marketplace)
    for (const n of names) {
      await this.waitFor(`${n} mesh in ${marketplace}`, async () => ((await this.status(n)).marketplaces[id]?.meshPeers ?? 0) > 0 ? true : undefined)
    }
  }

  /** Publishes a request from `by`; the window starts `leadMinutes` (default 16) after now. */
  async request (by: string, spec: RequestSpec): Promise<string> {
    const start = Math.ceil((this.simNow() + (spec.leadMinutes ?? 16) * 60_000) / 60_000) * 60_000
    const market = this.scenario.marketplaces.find(m => m.name === spec.marketplace)!
    const res = await this.node(by).control.call<{ id: string }>('POST', '/v1/requests', {
      marketplace: this.market(spec.marketplace),
      service: spec.service,
      window: { start, end: start + (spec.durationMinutes ?? 15) * 60_000 },
      quantity: spec.quantity,
      price: spec.price,
      settlementMethod: spec.settlementMethod,
      settlementIntervalMs: spec.settlementIntervalMs ?? market.settlementIntervalsMs[0],
      toleranceBp: spec.toleranceBp,
      ...(spec.expiresInMs !== undefined ? { expiresAt: Math.round(this.simNow() + spec.expiresInMs) } : {})
    })
    return res.id
  }

  /** The scenario's own request spec number `i`, published now. */
  async scenarioRequest (i: number): Promise<string> {
    const r = this.scenario.requests[i]!
    return await this.request(r.by, { ...r })
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
