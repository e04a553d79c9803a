// `pairgrid devnet`: every party of a scenario as its own OS process with its own data dir,
// an accelerated shared clock, the scenario's requests, and verified audit bundles at the end.
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TxView } from '../../node/node.js'
import { verifyBundle, type AuditBundle } from '../../log/bundle.js'
import { canonicalize } from '../../records/canonical.js'
import { readScenario, type Scenario, type ScenarioRequest } from './scenario.js'
import { spawnNode, stopNode, type NodeProcess } from './processes.js'
import { Progress } from './progress.js'
import { printSummary, type SummaryTx } from './summary.js'
import { provision, type Provisioned } from './provision.js'
import { packageRoot } from '../../node/package-root.js'
import { collectTrades, runTrades } from './trades.js'

export interface DevnetFlags {
  scenario?: string
  out?: string
  data?: string
  speed?: number
  write?: (line: string) => void
}

interface Party { name: string, kind: string, proc: NodeProcess, party: string, peerId: string }
interface Published { spec: ScenarioRequest, id: string, by: Party, windowEnd: number }

const FINAL = new Set(['settled', 'disputed', 'rejected', 'expired'])

export function defaultScenarioPath (): string {
  return join(packageRoot(), 'devnet', 'default.json')
}

function simStart (scenario: Scenario): number {
  const [h, m] = scenario.startTimeUtc.split(':').map(Number) as [number, number]
  const d = new Date()
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m)
}

export async function runDevnet (flags: DevnetFlags): Promise<number> {
  const write = flags.write ?? ((line: string) => process.stdout.write(line + '\n'))
  const scenario = await readScenario(flags.scenario ?? defaultScenarioPath())
  const speed = flags.speed ?? scenario.speed
  const dataRoot = flags.data ?? await mkdtemp(join(tmpdir(), 'pairgrid-devnet-'))
  const origin = { wall: Date.now(), sim: simStart(scenario) }
  const simNow = (): number => origin.sim + (Date.now() - origin.wall) * speed
  const progress = new Progress(write, simNow, flags.write === undefined && process.stdout.isTTY)
  progress.line(`devnet "${scenario.name}": ${scenario.parties.length} parties, ${scenario.marketplaces.length} marketplace(s), speed ${speed}x, data in ${dataRoot}`)

  const parties: Party[] = []
  let interrupted = false
  const onSignal = (): void => { interrupted = true }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const ids = await provision(scenario, dataRoot, origin.sim)
    progress.line(`provisioned ${ids.marketplaces.size} governance document(s), keys and accreditations`)
    // Gossipsub discovers no peers: each node dials every node started before it, so members of
    // every marketplace are connected whoever else is on the devnet.
    for (const p of scenario.parties) {
      if (interrupted) throw new Error('interrupted')
      const bootstrap = await Promise.all(parties.map(async q => (await q.proc.control.call<{ addrs: string[] }>('GET', '/v1/status')).addrs[0]!))
      const proc = await spawnNode({ name: p.name, dir: join(dataRoot, p.name), bootstrap, clockOrigin: `${origin.wall}:${origin.sim}`, speed })
      const status = await proc.control.call<{ party: string, peerId: string }>('GET', '/v1/status')
      parties.push({ name: p.name, kind: p.kind, proc, party: status.party, peerId: status.peerId })
      progress.line(`started ${p.name.padEnd(14)} ${p.kind.padEnd(20)} pid ${proc.child.pid ?? '?'}  ${status.peerId}`)
    }
    await waitForMesh(scenario, ids, parties, () => interrupted)
    progress.line('gossip mesh formed in every marketplace')

    const [published, trading] = await Promise.all([
      runRequests(scenario, ids, parties, progress, simNow, () => interrupted),
      runTrades(scenario, ids, parties, progress, simNow, () => interrupted)
    ])
    progress.finish()
    const trades = await collectTrades(trading, ids, parties, flags.out)
    const summary = await collect(parties, published, flags.out, trades.rows)
    printSummary(write, [...summary, ...trades.rows], published.length)
    for (const line of trades.lines) write(line)
    const failures = [...expectationFailures(published, summary), ...trades.failures]
    for (const f of failures) progress.line(`FAILED: ${f}`)
    if (failures.length === 0) progress.line('every expected transaction ended as expected and every bundle verified')
    return failures.length === 0 ? 0 : 1
  } catch (err) {
    progress.finish()
    progress.line(`devnet failed: ${(err as Error).message}`)
    return interrupted ? 130 : 1
  } finally {
    await Promise.all(parties.map(async p => await stopNode(p.proc)))
    progress.line(`stopped ${parties.length} node process(es)`)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (flags.data === undefined) await rm(dataRoot, { recursive: true, force: true })
  }
}

async function runRequests (scenario: Scenario, ids: Provisioned, parties: Party[], progress: Progress, simNow: () => number, interrupted: () => boolean): Promise<Published[]> {
  const names = new Map(parties.map(p => [p.party, p.name]))
  const scenarioStart = simNow()
  const pending = [...scenario.requests].sort((a, b) => a.atMinute - b.atMinute)
  const published: Published[] = []
  for (;;) {
    if (interrupted()) throw new Error('interrupted')
    while (pending.length > 0 && simNow() >= scenarioStart + pending[0]!.atMinute * 60_000) {
      const spec = pending.shift()!
      const by = parties.find(p => p.name === spec.by)!
      const now = simNow()
      const start = Math.ceil((now + spec.leadMinutes * 60_000) / 60_000) * 60_000
      const window = { start, end: start + spec.durationMinutes * 60_000 }
      const market = scenario.marketplaces.find(m => m.name === spec.marketplace)!
      const res = await by.proc.control.call<{ id: string }>('POST', '/v1/requests', {
        marketplace: ids.marketplaces.get(spec.marketplace), service: spec.service, window, quantity: spec.quantity, price: spec.price,
        settlementMethod: spec.settlementMethod, settlementIntervalMs: spec.settlementIntervalMs ?? market.settlementIntervalsMs[0], toleranceBp: spec.toleranceBp,
        ...(spec.biddingMinutes !== undefined ? { expiresAt: Math.ceil((now + spec.biddingMinutes * 60_000) / 1000) * 1000 } : {})
      })
      published.push({ spec, id: res.id, by, windowEnd: window.end })
      progress.line(`${by.name.padEnd(14)} published ${spec.service} request ${res.id.slice(0, 10)} in ${spec.marketplace}: ${spec.quantity.value} ${spec.quantity.unit}, window ${new Date(window.start).toISOString().slice(11, 16)}–${new Date(window.end).toISOString().slice(11, 16)} UTC, ${spec.price.mechanism} price`)
    }
    const views = new Map<Party, TxView[]>()
    for (const p of parties) {
      const txs = await p.proc.control.call<TxView[]>('GET', '/v1/transactions')
      views.set(p, txs)
      progress.update(p.name, txs, names)
    }
    progress.counters(published.length, [...views.values()].flat().filter(t => t.role === 'requester'))
    const done = pending.length === 0 && published.every(r => {
      const txs = (views.get(r.by) ?? []).filter(t => t.request === r.id)
      const expected = Object.values(r.spec.expect).reduce((a, b) => a + (b ?? 0), 0)
      if (!txs.every(t => FINAL.has(t.status))) return false
      // Fewer transactions than expected: over once no more can come (the window has passed).
      return txs.length >= expected || simNow() > r.windowEnd + 60_000
    })
    if (done) return published
    const lastEnd = Math.max(0, ...published.map(r => r.windowEnd))
    if (pending.length === 0 && simNow() > lastEnd + 2 * 3_600_000) throw new Error('transactions did not finish within two hours of simulated time after the last window')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

async function waitForMesh (scenario: Scenario, ids: Provisioned, parties: Party[], interrupted: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    if (interrupted()) throw new Error('interrupted')
    let ready = true
    for (const p of parties) {
      const status = await p.proc.control.call<{ marketplaces: Record<string, { meshPeers: number }> }>('GET', '/v1/status')
      for (const m of scenario.marketplaces) {
        const members = scenario.parties.filter(q => q.marketplaces.includes(m.name))
        const s = status.marketplaces[ids.marketplaces.get(m.name)!]
        if (s !== undefined && members.length > 1 && s.meshPeers === 0) ready = false
      }
    }
    if (ready) return
    if (Date.now() > deadline) throw new Error('gossip mesh did not form within 60 s')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

async function collect (parties: Party[], published: Published[], out: string | undefined, trades: SummaryTx[]): Promise<SummaryTx[]> {
  const byParty = new Map(parties.map(p => [p.party, p]))
  const transactions: SummaryTx[] = []
  if (out !== undefined) await mkdir(join(out, 'bundles'), { recursive: true })
  for (const r of published) {
    const txs = (await r.by.proc.control.call<TxView[]>('GET', '/v1/transactions')).filter(t => t.request === r.id)
    for (const tx of txs) {
      const provider = byParty.get(tx.counterparty)
      const bundle = await r.by.proc.control.call<AuditBundle>('GET', `/v1/transactions/${tx.id}/bundle`)
      const verdict = verifyBundle(bundle)
      // Both logs must hold the same chain: the provider's bundle carries the same records.
      let same = true
      if (provider !== undefined) {
        const theirs = await provider.proc.control.call<AuditBundle>('GET', `/v1/transactions/${tx.id}/bundle`)
        same = canonicalize([theirs.records, theirs.readings, theirs.signals]) === canonicalize([bundle.records, bundle.readings, bundle.signals])
      }
      const file = join('bundles', `${tx.id}.json`)
      if (out !== undefined) await writeFile(join(out, file), JSON.stringify(bundle, null, 2) + '\n')
      transactions.push({
        id: tx.id, request: r.id, kind: 'grid-service', service: tx.service, marketplace: r.spec.marketplace,
        requester: r.by.name, provider: provider?.name ?? tx.counterparty, counterpartyRole: r.by.kind, priceMechanism: tx.priceMechanism,
        status: tx.status, verified: verdict.ok && same,
        ...(verdict.ok ? {} : { fault: verdict.fault }),
        ...(tx.executed !== undefined ? { executed: tx.executed, unit: tx.quantity.unit, paidEnergy: tx.paidEnergy, performance: tx.performance, amount: tx.amount } : {}),
        ...(tx.dispute !== undefined ? { dispute: tx.dispute } : {}),
        ...(tx.rejection !== undefined ? { rejection: tx.rejection } : {}),
        bundle: file
      })
    }
  }
  if (out !== undefined) {
    const summary = {
      nodes: parties.map(p => ({ name: p.name, role: p.kind, peerId: p.peerId, pid: p.proc.child.pid })),
      transactions: [...transactions, ...trades]
    }
    await writeFile(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  }
  return transactions
}

function expectationFailures (published: Published[], txs: SummaryTx[]): string[] {
  const failures: string[] = []
  for (const r of published) {
    const mine = txs.filter(t => t.request === r.id)
    for (const [status, count] of Object.entries(r.spec.expect)) {
      const n = mine.filter(t => t.status === status).length
      if (n !== count) failures.push(`${r.spec.by}'s ${r.spec.service} request in ${r.spec.marketplace}: ${n} ${status}, expected ${count ?? 0}`)
    }
    for (const t of mine) if (!t.verified) failures.push(`bundle of ${t.id.slice(0, 10)} did not verify${t.fault !== undefined ? `: ${t.fault}` : ' (the two logs differ)'}`)
  }
  return failures
}
