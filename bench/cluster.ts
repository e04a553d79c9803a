// A provisioned bench marketplace: devnet/slice.json's marketplace and parties (the project's
// own scenario, provisioned by the devnet's own code), with N copies of its building and a
// minimum bid of 1 kW so every building can commit to every 1-kW request.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { readScenario, parseScenario, type Scenario } from '../src/cli/devnet/scenario.js'
import { provision, type Provisioned } from '../src/cli/devnet/provision.js'
import { packageRoot } from '../src/node/package-root.js'
import { PairgridNode } from '../src/node/node.js'
import { scaledClock, type Clock } from '../src/node/clock.js'
import type { RequestParams } from '../src/grid/requester.js'
import { trackDir, waitFor } from './fixtures.js'

export const BENCH_SIM_START = Date.UTC(2026, 10, 21, 14, 0)

export interface BenchMarket {
  root: string
  scenario: Scenario
  ids: Provisioned
  /** Name of the requesting party (the marketplace operator) and of the buildings. */
  requester: string
  buildings: string[]
  /** Marketplace id (its governance record's id); with a marketplace per building, the first one's. */
  marketplace: string
  /** The marketplace id building i is in. */
  marketplaceOf: (i: number) => string
  dir: (name: string) => string
  cleanup: () => Promise<void>
  /** Leaves the dirs in place at exit (for digging into the nodes' logs). */
  keep: () => void
}

export interface BenchShape {
  /** Meter reading interval of every building (default: the slice's). */
  meterIntervalMs?: number
  /** One marketplace per building, all operated by the requester: each request reaches one building (a pair). */
  marketplacePerBuilding?: boolean
  /** The marketplaces' settlement interval (default: the slice's). */
  settlementIntervalMs?: number
  /** The marketplaces' minimum bid in W (default 500). */
  minimumBidW?: number
}

export async function provisionBench (buildingCount: number, tag: string, shape: BenchShape = {}): Promise<BenchMarket> {
  const slice = await readScenario(join(packageRoot(), 'devnet', 'slice.json'))
  const market = slice.marketplaces[0]!
  const template = slice.parties.find(p => p.building !== undefined)
  const operator = slice.parties.find(p => p.name === market.operator)
  if (template === undefined || operator === undefined) throw new Error('devnet/slice.json has no building or no operator to copy')
  const buildings = Array.from({ length: buildingCount }, (_, i) => `building-${i + 1}`)
  const marketNames = shape.marketplacePerBuilding === true ? buildings.map((_, i) => `${market.name}-${i + 1}`) : [market.name]
  const marketOf = (i: number): string => marketNames[shape.marketplacePerBuilding === true ? i : 0]!
  const marketplaces = marketNames.map(name => ({
    ...market,
    name,
    minimumBid: { value: shape.minimumBidW ?? 500, unit: 'W' },
    ...(shape.settlementIntervalMs !== undefined ? { settlementIntervalsMs: [shape.settlementIntervalMs] } : {})
  }))
  // The template's marketplace-scoped accreditations follow the building into its marketplace.
  const building = (name: string, i: number): typeof template => ({
    ...template,
    name,
    marketplaces: [marketOf(i)],
    accreditations: template.accreditations.map(a => a.scope === market.name ? { ...a, scope: marketOf(i) } : a)
  })
  const scenario = parseScenario({
    ...slice,
    name: `bench-${tag}`,
    ...(shape.meterIntervalMs !== undefined ? { meterIntervalMs: shape.meterIntervalMs } : {}),
    marketplaces,
    parties: [{ ...operator, marketplaces: marketNames }, ...buildings.map(building)],
    frameworks: [],
    requests: []
  }, `bench-${tag}`)
  const root = await mkdtemp(join(tmpdir(), `pairgrid-bench-${tag}-`))
  const release = trackDir(root)
  try {
    const ids = await provision(scenario, root, BENCH_SIM_START)
    return {
      root, scenario, ids, requester: operator.name, buildings,
      marketplace: ids.marketplaces.get(marketNames[0]!)!,
      marketplaceOf: i => ids.marketplaces.get(marketOf(i))!,
      dir: name => join(root, name),
      cleanup: async () => { await rm(root, { recursive: true, force: true }); release() },
      keep: release
    }
  } catch (err) {
    await rm(root, { recursive: true, force: true })
    throw err
  }
}

/** Windows start this long after the bench's anchor time, in this many slots this far apart. */
const LEAD_MS = 20 * 60_000
const SLOTS = 6
const SLOT_SPACING_MS = 40 * 60_000

/** The anchor of a run's request windows: fixed once, so requests of one slot share one window. */
export function windowAnchor (clock: Clock): number {
  return Math.ceil((clock.now() + LEAD_MS) / 60_000) * 60_000
}

/** A demand-response request on marketplace i's tariff for one window; it expires when the window starts. */
export function drRequest (m: BenchMarket, i: number, window: { start: number, end: number }, watts: number): RequestParams {
  const r = m.scenario.marketplaces[i]!
  const tariff = r.tariffs.find(t => t.service === 'demand-response') ?? r.tariffs[0]!
  return {
    marketplace: m.marketplaceOf(i),
    service: 'demand-response',
    window,
    quantity: { value: watts, unit: 'W' },
    price: tariff.price,
    settlementMethod: r.settlementMethods[0]!,
    settlementIntervalMs: r.settlementIntervalsMs[0]!,
    toleranceBp: r.toleranceBp,
    expiresAt: window.start
  } as RequestParams
}

/**
 * A small demand-response request on the slice's tariff. Request i gets 15-minute window slot
 * i % SLOTS; the slots are 40 minutes apart so no window falls in another's meter-before-event
 * baseline span (back-to-back windows would compound: each baseline already reduced by the last).
 */
export function drParams (m: BenchMarket, anchor: number, i: number, watts = 1000): RequestParams {
  const start = anchor + (i % SLOTS) * SLOT_SPACING_MS
  return drRequest(m, 0, { start, end: start + 15 * 60_000 }, watts)
}

export interface InProcessCluster {
  clock: Clock
  requester: PairgridNode
  buildings: PairgridNode[]
  stop: () => Promise<void>
}

/** Starts the requester and every building in this process, buildings bootstrapped from the requester; waits for the gossip mesh. */
export async function startInProcess (m: BenchMarket, logLevel = 'silent'): Promise<InProcessCluster> {
  const clock = scaledClock({ wall: Date.now(), sim: BENCH_SIM_START, speed: 1 })
  const logger = pino({ level: logLevel })
  const started: PairgridNode[] = []
  const stop = async (): Promise<void> => {
    for (const n of started.reverse()) await n.stop().catch(() => {})
  }
  try {
    const requester = await PairgridNode.start(m.dir(m.requester), { clock, logger, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] })
    started.push(requester)
    const addr = requester.net.getMultiaddrs()[0]!.toString()
    const buildings: PairgridNode[] = []
    for (const b of m.buildings) {
      const node = await PairgridNode.start(m.dir(b), { clock, logger, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [addr] })
      started.push(node)
      buildings.push(node)
    }
    await waitFor('gossip mesh', () => [requester, ...buildings].every(n => n.channel.meshPeers(m.marketplace) > 0) ? true : undefined, 30_000)
    // Let the requester's mesh take in every building (up to gossipsub's Dhi), not just the first.
    await waitFor('full mesh at the requester', () => requester.channel.meshPeers(m.marketplace) >= Math.min(buildings.length, 12) ? true : undefined, 10_000).catch(() => {})
    // A marketplace in use: every member has heard every other announce itself on the members topic.
    const nodes = [requester, ...buildings]
    await waitFor('every member known to every node', () => nodes.every(n => n.members.partiesOf(m.marketplace).size >= nodes.length - 1) ? true : undefined, 30_000)
    return { clock, requester, buildings, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
