// `pairgrid devnet`: every party of a scenario as its own OS process with its own data dir,
// an accelerated shared clock, the scenario's requests, and verified audit bundles at the end.
import { mkdtemp, mkdir, writeFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initNode } from '../../node/init.js'
import type { TxView } from '../../node/node.js'
import { verifyBundle, type AuditBundle } from '../../log/bundle.js'
import { canonicalize } from '../../records/canonical.js'
import { readScenario, type Scenario, type ScenarioRequest } from './scenario.js'
import { spawnNode, stopNode, type NodeProcess } from './processes.js'
import { Progress, formatMoney } from './progress.js'
import { packageRoot } from '../../node/package-root.js'

export interface DevnetFlags {
  scenario?: string
  out?: string
  data?: string
  speed?: number
  write?: (line: string) => void
}

interface Party { name: string, role: string, kind: string, proc: NodeProcess, party: string, peerId: string }

export interface SummaryTx {
  id: string
  kind: 'grid-service'
  service: string
  marketplace: string
  requester: string
  provider: string
  counterpartyRole: string
  priceMechanism: string
  status: string
  verified: boolean
  executed?: number
  paidEnergy?: number
  amount?: { minor: number, currency: string }
  dispute?: string
  bundle: string
}

const TERMINAL = new Set(['settled', 'disputed', 'rejected'])

function simStart (scenario: Scenario): number {
  const [h, m] = scenario.startTimeUtc.split(':').map(Number) as [number, number]
  const d = new Date()
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m)
}

export async function runDevnet (flags: DevnetFlags): Promise<number> {
  const write = flags.write ?? ((line: string) => process.stdout.write(line + '\n'))
  const scenario = await readScenario(flags.scenario ?? join(packageRoot(), 'devnet', 'slice.json'))
  const speed = flags.speed ?? scenario.speed
  const dataRoot = flags.data ?? await mkdtemp(join(tmpdir(), 'pairgrid-devnet-'))
  const origin = { wall: Date.now(), sim: simStart(scenario) }
  const simNow = (): number => origin.sim + (Date.now() - origin.wall) * speed
  const progress = new Progress(write, simNow)
  progress.line(`devnet "${scenario.name}": ${scenario.parties.length} parties, speed ${speed}x, data in ${dataRoot}`)

  const parties: Party[] = []
  let interrupted = false
  const onSignal = (): void => { interrupted = true }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    for (const p of scenario.parties) {
      const dir = join(dataRoot, p.name)
      if (!await stat(join(dir, 'config.json')).then(() => true, () => false)) {
        await initNode(dir, {
          name: p.name, role: p.role, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], marketplaces: p.marketplaces, meterIntervalMs: scenario.meterIntervalMs,
          ...(p.building !== undefined ? { building: p.building } : {})
        })
      }
    }
    // The first party is the bootstrap peer of all others.
    for (const p of scenario.parties) {
      if (interrupted) throw new Error('interrupted')
      const bootstrap = parties.length === 0 ? [] : [(await parties[0]!.proc.control.call<{ addrs: string[] }>('GET', '/v1/status')).addrs[0]!]
      const proc = await spawnNode({ name: p.name, dir: join(dataRoot, p.name), bootstrap, clockOrigin: `${origin.wall}:${origin.sim}`, speed })
      const status = await proc.control.call<{ party: string, peerId: string }>('GET', '/v1/status')
      parties.push({ name: p.name, role: p.role, kind: p.kind, proc, party: status.party, peerId: status.peerId })
      progress.line(`started ${p.name.padEnd(12)} ${p.role.padEnd(9)} pid ${proc.child.pid ?? '?'}  ${status.peerId}`)
    }
    await waitForMesh(scenario, parties, () => interrupted)
    progress.line('gossip mesh formed in every marketplace')

    const names = new Map(parties.map(p => [p.party, p.name]))
    const scenarioStart = simNow()
    const pending = [...scenario.requests].sort((a, b) => a.atMinute - b.atMinute)
    const published: Array<{ spec: ScenarioRequest, id: string, by: Party, windowEnd: number }> = []
    for (;;) {
      if (interrupted) throw new Error('interrupted')
      while (pending.length > 0 && simNow() >= scenarioStart + pending[0]!.atMinute * 60_000) {
        const spec = pending.shift()!
        const by = parties.find(p => p.name === spec.by)!
        const start = Math.ceil((simNow() + spec.leadMinutes * 60_000) / 60_000) * 60_000
        const window = { start, end: start + spec.durationMinutes * 60_000 }
        const res = await by.proc.control.call<{ id: string }>('POST', '/v1/requests', {
          marketplace: spec.marketplace, service: spec.service, window, quantity: spec.quantity, price: spec.price, settlementMethod: spec.settlementMethod, toleranceBp: spec.toleranceBp
        })
        published.push({ spec, id: res.id, by, windowEnd: window.end })
        progress.line(`${by.name.padEnd(12)} published ${spec.service} request ${res.id.slice(0, 10)}: ${spec.quantity.value} ${spec.quantity.unit}, window ${new Date(window.start).toISOString().slice(11, 16)}–${new Date(window.end).toISOString().slice(11, 16)} UTC, ${spec.price.mechanism} price`)
      }
      const views = new Map<Party, TxView[]>()
      for (const p of parties) {
        const txs = await p.proc.control.call<TxView[]>('GET', '/v1/transactions')
        views.set(p, txs)
        progress.update(p.name, txs, names)
      }
      const done = pending.length === 0 && published.every(r => {
        const txs = (views.get(r.by) ?? []).filter(t => t.request === r.id)
        // A request nobody committed to is over once its window has passed.
        return txs.length > 0 ? txs.every(t => TERMINAL.has(t.status)) : simNow() > r.windowEnd + 60_000
      })
      if (done) break
      const lastEnd = Math.max(0, ...published.map(r => r.windowEnd))
      if (pending.length === 0 && simNow() > lastEnd + 60 * 60_000) throw new Error('transactions did not finish within an hour of simulated time after the last window')
      await new Promise(resolve => setTimeout(resolve, 200))
    }

    const summary = await collect(parties, published, flags.out)
    printSummary(write, summary.transactions, published.length)
    const expectedOk = published.every(r => summary.transactions.some(t => t.id !== '' && t.status === r.spec.expect && t.verified && summary.requestOf.get(t.id) === r.id))
    const allVerified = summary.transactions.every(t => t.verified)
    progress.line(expectedOk && allVerified ? 'every expected transaction ended as expected and every bundle verified' : 'FAILED: some transaction did not end as expected or did not verify')
    return expectedOk && allVerified ? 0 : 1
  } catch (err) {
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

async function waitForMesh (scenario: Scenario, parties: Party[], interrupted: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    if (interrupted()) throw new Error('interrupted')
    let ready = true
    for (const p of parties) {
      const status = await p.proc.control.call<{ marketplaces: Record<string, { meshPeers: number }> }>('GET', '/v1/status')
      for (const [m, s] of Object.entries(status.marketplaces)) {
        const members = scenario.parties.filter(q => q.marketplaces.includes(m)).length
        if (members > 1 && s.meshPeers === 0) ready = false
      }
    }
    if (ready) return
    if (Date.now() > deadline) throw new Error('gossip mesh did not form within 30 s')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

async function collect (parties: Party[], published: Array<{ id: string, by: Party }>, out: string | undefined): Promise<{ transactions: SummaryTx[], requestOf: Map<string, string> }> {
  const byParty = new Map(parties.map(p => [p.party, p]))
  const transactions: SummaryTx[] = []
  const requestOf = new Map<string, string>()
  if (out !== undefined) await mkdir(join(out, 'bundles'), { recursive: true })
  for (const r of published) {
    const txs = (await r.by.proc.control.call<TxView[]>('GET', '/v1/transactions')).filter(t => t.request === r.id)
    for (const tx of txs) {
      requestOf.set(tx.id, r.id)
      const provider = byParty.get(tx.counterparty)
      const bundle = await r.by.proc.control.call<AuditBundle>('GET', `/v1/transactions/${tx.id}/bundle`)
      const verdict = verifyBundle(bundle)
      // Both logs must hold the same chain: the provider's bundle carries the same records.
      let same = true
      if (provider !== undefined) {
        const theirs = await provider.proc.control.call<AuditBundle>('GET', `/v1/transactions/${tx.id}/bundle`)
        same = canonicalize(theirs.records) === canonicalize(bundle.records) && canonicalize(theirs.readings) === canonicalize(bundle.readings)
      }
      const file = join('bundles', `${tx.id}.json`)
      if (out !== undefined) await writeFile(join(out, file), JSON.stringify(bundle, null, 2) + '\n')
      transactions.push({
        id: tx.id, kind: 'grid-service', service: tx.service, marketplace: tx.marketplace,
        requester: r.by.name, provider: provider?.name ?? tx.counterparty, counterpartyRole: r.by.kind, priceMechanism: tx.priceMechanism,
        status: tx.status, verified: verdict.ok && same,
        ...(tx.executed !== undefined ? { executed: tx.executed, paidEnergy: tx.paidEnergy, amount: tx.amount } : {}),
        ...(tx.dispute !== undefined ? { dispute: tx.dispute } : {}),
        bundle: file
      })
    }
  }
  if (out !== undefined) {
    const summary = {
      nodes: parties.map(p => ({ name: p.name, role: p.role, kind: p.kind, peerId: p.peerId, pid: p.proc.child.pid })),
      transactions
    }
    await writeFile(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  }
  return { transactions, requestOf }
}

function printSummary (write: (line: string) => void, txs: SummaryTx[], requests: number): void {
  write('')
  write(`${'transaction'.padEnd(12)} ${'service'.padEnd(20)} ${'counterparty'.padEnd(22)} ${'price'.padEnd(10)} ${'status'.padEnd(9)} ${'executed'.padStart(10)} ${'energy Wh'.padStart(10)} ${'amount'.padStart(12)}  verified`)
  for (const t of txs) {
    write(`${t.id.slice(0, 10).padEnd(12)} ${t.service.padEnd(20)} ${t.counterpartyRole.padEnd(22)} ${t.priceMechanism.padEnd(10)} ${t.status.padEnd(9)} ${String(t.executed ?? '-').padStart(10)} ${String(t.paidEnergy ?? '-').padStart(10)} ${formatMoney(t.amount).padStart(12)}  ${t.verified ? 'yes' : 'NO'}`)
    if (t.dispute !== undefined) write(`${''.padEnd(12)} dispute: ${t.dispute}`)
  }
  const settled = txs.filter(t => t.status === 'settled')
  const wh = settled.reduce((s, t) => s + (t.paidEnergy ?? 0), 0)
  const money = new Map<string, number>()
  for (const t of settled) if (t.amount !== undefined) money.set(t.amount.currency, (money.get(t.amount.currency) ?? 0) + t.amount.minor)
  write(`${requests} request(s), ${txs.length} transaction(s), ${settled.length} settled, ${txs.filter(t => t.status === 'disputed').length} disputed; energy settled ${wh} Wh; money settled ${[...money].map(([c, m]) => formatMoney({ minor: m, currency: c })).join(', ') || '0'}`)
  write('')
}
