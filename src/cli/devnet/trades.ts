// The devnet's peer-to-peer energy trade: scenario offers and bids, published on schedule through
// each party's control API; trades followed to their end; certificates retired (and a second
// retirement shown refused); every trade bundle verified from both parties; summary rows, EV
// plans and net positions. Provisioning hooks: an EV site's meter key and each party's trade.json.
import { stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { LoadCoupling, TradePrice } from '../../records/trade-schemas.js'
import { canonicalize } from '../../records/canonical.js'
import { generateKeyPair, readKeyFile, writeKeyFile } from '../../identity/keyfile.js'
import { dataPaths } from '../../node/data-dir.js'
import { TRADE_CONFIG_FILE, type TradeConfig } from '../../trade/policy.js'
import { verifyTradeBundle, type TradeBundle } from '../../trade/bundle.js'
import type { TradeView } from '../../trade/service.js'
import type { NodeProcess } from './processes.js'
import type { Progress } from './progress.js'
import type { Provisioned } from './provision.js'
import type { SummaryTx } from './summary.js'
import { formatMoney } from './progress.js'

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' })
const BlockMinutes = Type.Union([Type.Literal(5), Type.Literal(15), Type.Literal(60)])
/** How the trades against one offer (or on offers answering one bid) must end: how many in each final status. */
const TradeExpect = Type.Object({
  settled: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
  refused: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
  disputed: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 }))
}, { additionalProperties: false })

const Scheduled = {
  by: Name,
  atMinute: Type.Integer({ minimum: 0, maximum: 24 * 60 }),
  marketplace: Name,
  leadMinutes: Type.Integer({ minimum: 1, maximum: 24 * 60, description: 'the block starts at the first multiple of its length at least this many minutes after publication' }),
  blockMinutes: BlockMinutes,
  quantityWh: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
  price: TradePrice,
  expect: TradeExpect
}

export const ScenarioOffer = Type.Object({ ...Scheduled, forCoupling: Type.Optional(LoadCoupling) }, { additionalProperties: false })
export const ScenarioBid = Type.Object({ ...Scheduled, zeroCarbonOnly: Type.Boolean(), sameFeederOnly: Type.Boolean() }, { additionalProperties: false })
export type ScenarioOffer = Static<typeof ScenarioOffer>
export type ScenarioBid = Static<typeof ScenarioBid>

interface TradeScenario {
  parties: Array<{ name: string, kind: string, marketplaces: string[], trade?: TradeConfig }>
  marketplaces: Array<{ name: string }>
  offers?: ScenarioOffer[]
  bids?: ScenarioBid[]
}

/** Cross-references of a scenario's trade fields; undefined when they hold. */
export function tradeScenarioProblem (s: TradeScenario): string | undefined {
  const party = (name: string): TradeScenario['parties'][number] | undefined => s.parties.find(p => p.name === name)
  for (const o of s.offers ?? []) {
    const p = party(o.by)
    if (p?.trade?.producer === undefined) return `offer by ${o.by}: not a party with a producer nameplate (trade.producer)`
    if (!p.marketplaces.includes(o.marketplace)) return `offer by ${o.by}: not in marketplace ${o.marketplace}`
  }
  for (const b of s.bids ?? []) {
    const p = party(b.by)
    if (p?.trade?.buyer === undefined) return `bid by ${b.by}: not a party with a buyer policy (trade.buyer)`
    if (!p.marketplaces.includes(b.marketplace)) return `bid by ${b.by}: not in marketplace ${b.marketplace}`
  }
  for (const p of s.parties) {
    if (p.trade?.ev !== undefined && (p.kind !== 'ev-site' || p.trade.buyer === undefined)) return `party ${p.name}: an EV need belongs to an ev-site with a buyer policy`
  }
  return undefined
}

/** An EV site runs no building, but its charger sits behind a meter of its own: its key. */
export async function siteMeterKey (dir: string, name: string): Promise<string> {
  const path = dataPaths(dir).meterKey
  if (await stat(path).then(() => true, () => false)) return (await readKeyFile(path)).id
  const keys = generateKeyPair()
  await writeKeyFile(path, keys, `meter key of ${name} (simulated EV site meter)`)
  return keys.id
}

export async function writeTradeConfig (dir: string, config: TradeConfig): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(join(dir, TRADE_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
}

export interface TradingParty { name: string, kind: string, proc: NodeProcess, party: string }

interface Item { kind: 'offer' | 'bid', spec: ScenarioOffer | ScenarioBid }
export interface PublishedTrade { kind: 'offer' | 'bid', spec: ScenarioOffer | ScenarioBid, id: string, by: TradingParty, block: { start: number, end: number } }

const FINAL = new Set(['settled', 'disputed', 'refused'])
const hhmm = (t: number): string => new Date(t).toISOString().slice(11, 16)

async function tradesOf (p: TradingParty): Promise<TradeView[]> {
  return await p.proc.control.call<TradeView[]>('GET', '/v1/trade/trades').catch(() => [])
}

/** The trades an item yielded, each with the producer that holds it: against the offer, or on offers answering the bid. */
async function yielded (item: PublishedTrade, parties: TradingParty[]): Promise<Array<{ producer: TradingParty, trade: TradeView }>> {
  const all = (await Promise.all(parties.map(async producer => (await tradesOf(producer)).filter(t => t.role === 'producer').map(trade => ({ producer, trade }))))).flat()
  if (item.kind === 'offer') return all.filter(x => x.trade.offer === item.id)
  const offers = (await Promise.all(parties.map(async p => await p.proc.control.call<Array<{ id: string, bid?: string }>>('GET', '/v1/trade/offers').catch(() => [])))).flat()
  const answering = new Set(offers.filter(o => o.bid === item.id).map(o => o.id))
  return all.filter(x => answering.has(x.trade.offer))
}

export async function runTrades (items: { offers?: ScenarioOffer[], bids?: ScenarioBid[] }, ids: Provisioned, parties: TradingParty[], progress: Progress, simNow: () => number, interrupted: () => boolean): Promise<PublishedTrade[]> {
  const pending: Item[] = [...(items.offers ?? []).map(spec => ({ kind: 'offer' as const, spec })), ...(items.bids ?? []).map(spec => ({ kind: 'bid' as const, spec }))]
    .sort((a, b) => a.spec.atMinute - b.spec.atMinute)
  if (pending.length === 0) return []
  const names = new Map(parties.map(p => [p.party, p.name]))
  const start = simNow()
  const published: PublishedTrade[] = []
  const seen = new Map<string, string>()
  for (;;) {
    if (interrupted()) throw new Error('interrupted')
    while (pending.length > 0 && simNow() >= start + pending[0]!.spec.atMinute * 60_000) {
      const { kind, spec } = pending[0]!
      const by = parties.find(p => p.name === spec.by)!
      const len = spec.blockMinutes * 60_000
      const blockStart = Math.ceil((simNow() + spec.leadMinutes * 60_000) / len) * len
      const { expect: _e, by: _b, atMinute: _a, leadMinutes: _l, blockMinutes, ...terms } = spec
      const res = await by.proc.control.call<{ id: string }>('POST', `/v1/trade/${kind}s`, { ...terms, marketplace: ids.marketplaces.get(spec.marketplace), block: { start: blockStart, minutes: blockMinutes } })
        .catch((err: Error) => { if (/no-subscribers/.test(err.message)) return undefined; throw err })
      // Nobody on the offers topic yet: the mesh is still forming; try again shortly.
      if (res === undefined) break
      pending.shift()
      const block = { start: blockStart, end: blockStart + len }
      published.push({ kind, spec, id: res.id, by, block })
      const coupling = 'forCoupling' in spec && spec.forCoupling !== undefined ? ` (${spec.forCoupling.class}${spec.forCoupling.subclass !== undefined ? '/' + spec.forCoupling.subclass : ''} loads only)` : ''
      progress.line(`${by.name.padEnd(14)} published ${kind} ${res.id.slice(0, 10)} in ${spec.marketplace}: ${spec.quantityWh} Wh, block ${hhmm(block.start)}–${hhmm(block.end)} UTC, ${formatMoney({ minor: spec.price.rate, currency: spec.price.currency })}/MWh${coupling}`)
    }
    let open = false
    for (const p of parties) {
      for (const t of await tradesOf(p)) {
        if (!FINAL.has(t.status)) open = true
        const key = `${p.name}/${t.id}`
        if (seen.get(key) === t.status || t.role !== 'producer') continue
        seen.set(key, t.status)
        const detail = t.status === 'settled'
          ? ` delivered ${t.deliveredWh ?? 0} Wh, received ${t.receivedWh ?? 0} Wh, ${formatMoney(t.amount)}, ${t.gridConnect ?? ''}`
          : t.status === 'refused' ? ` (${t.refusal ?? ''})` : t.status === 'disputed' ? ` (${t.dispute ?? ''})` : ''
        progress.line(`${p.name.padEnd(14)} → ${(names.get(t.counterparty) ?? t.counterparty.slice(0, 8)).padEnd(14)} energy ${hhmm(t.block.start)}–${hhmm(t.block.end)}  trade ${t.id.slice(0, 10)}  ${t.quantityWh} Wh ${t.status}${detail}`)
      }
    }
    const lastEnd = Math.max(0, ...published.map(x => x.block.end))
    if (pending.length === 0 && !open && simNow() > lastEnd + 60_000) return published
    if (pending.length === 0 && simNow() > lastEnd + 2 * 3_600_000) throw new Error('trades did not finish within two hours of simulated time after the last block')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

export interface TradeOutcome { rows: SummaryTx[], failures: string[], lines: string[] }

/**
 * Verifies every trade's bundle from both parties (the two logs must hold the same chain and
 * readings), writes it, retires each buyer's certificates (and shows a second retirement
 * refused), and checks the scenario's expectations.
 */
export async function collectTrades (published: PublishedTrade[], ids: Provisioned, parties: TradingParty[], out: string | undefined): Promise<TradeOutcome> {
  const outcome: TradeOutcome = { rows: [], failures: [], lines: [] }
  if (published.length === 0) return outcome
  const byParty = new Map(parties.map(p => [p.party, p]))
  const marketName = new Map([...ids.marketplaces].map(([n, id]) => [id, n]))
  if (out !== undefined) await mkdir(join(out, 'bundles'), { recursive: true })
  let retired = 0
  let refusedAgain = 0
  const chain = (b: TradeBundle): string => canonicalize([b.records.filter(r => r.type !== 'trade.retirement'), b.producerReadings, b.buyerReadings])
  for (const item of published) {
    const trades = await yielded(item, parties)
    for (const { producer, trade: t } of trades) {
      const buyer = byParty.get(t.counterparty)
      if (t.status === 'settled' && buyer !== undefined && t.certificate !== undefined) {
        const retire = async (): Promise<unknown> => await buyer.proc.control.call('POST', `/v1/trade/certificates/${t.certificate!}/retire`)
        if (await retire().then(() => true, () => false)) retired++
        if (await retire().then(() => false, (err: Error) => /already-retired/.test(err.message))) refusedAgain++
      }
      const mine = await producer.proc.control.call<TradeBundle>('GET', `/v1/trade/trades/${t.id}/bundle`)
      const theirs = buyer === undefined ? mine : await buyer.proc.control.call<TradeBundle>('GET', `/v1/trade/trades/${t.id}/bundle`)
      const verdict = verifyTradeBundle(theirs)
      // The retirement reaches the producer a moment later: the chains must agree up to it.
      const same = chain(theirs) === chain(mine)
      const file = join('bundles', `${t.id}.json`)
      if (out !== undefined) await writeFile(join(out, file), JSON.stringify(theirs, null, 2) + '\n')
      outcome.rows.push({
        id: t.id, request: item.id, kind: 'energy-trade', service: `energy ${item.spec.blockMinutes}-min`, marketplace: marketName.get(t.marketplace) ?? t.marketplace,
        requester: buyer?.name ?? t.counterparty, provider: producer.name, counterpartyRole: buyer?.kind ?? '?', priceMechanism: item.kind,
        status: t.status, verified: verdict.ok && same, ...(verdict.ok ? {} : { fault: verdict.fault }),
        ...(t.receivedWh !== undefined ? { executed: t.receivedWh, unit: 'Wh', paidEnergy: t.receivedWh, performance: Math.floor((t.deliveredWh ?? 0) * 1000 / t.quantityWh), amount: t.amount } : {}),
        ...(t.dispute !== undefined ? { dispute: t.dispute } : {}),
        ...(t.refusal !== undefined ? { rejection: t.refusal } : {}),
        bundle: file
      })
    }
    for (const [status, count] of Object.entries(item.spec.expect)) {
      const n = trades.filter(x => x.trade.status === status).length
      if (n !== count) outcome.failures.push(`${item.spec.by}'s ${item.kind} ${item.id.slice(0, 10)}: ${n} trade(s) ${status}, expected ${count ?? 0}`)
    }
  }
  for (const r of outcome.rows) if (!r.verified) outcome.failures.push(`trade bundle of ${r.id.slice(0, 10)} did not verify${r.fault !== undefined ? `: ${r.fault}` : ' (the two logs differ)'}`)
  const settled = outcome.rows.filter(r => r.status === 'settled').length
  if (retired !== settled || refusedAgain !== settled) outcome.failures.push(`${retired} of ${settled} certificates retired, ${refusedAgain} second retirements refused`)
  outcome.lines.push(`energy trades: ${settled} settled with ${settled} certificates; ${retired} retired once, ${refusedAgain} second retirements refused`)
  outcome.lines.push(...await positionLines(parties))
  return outcome
}

interface TradeStatusView {
  ev?: { needWh: number, miles: number, session: { start: number, end: number }, currency: string, plan?: { coveredWh: number, feasible: boolean, costMinor: { offers: number, grid: number, total: number }, blocks: Array<{ start: number, end: number, gridWh: number, chargeWh: number, purchases: Array<{ receivedWh: number, rate: number }> }> } }
  netPosition: { byCounterparty: Record<string, { moneyMinor: Record<string, number>, tradeWh: { sold: number, bought: number }, serviceWh: { provided: number, procured: number }, settlements: number }> }
}

/** Each EV site's charging plan, and each trading party's net position per counterparty. */
async function positionLines (parties: TradingParty[]): Promise<string[]> {
  const names = new Map(parties.map(p => [p.party, p.name]))
  const lines: string[] = []
  for (const p of parties) {
    const s = await p.proc.control.call<TradeStatusView>('GET', '/v1/trade/status').catch(() => undefined)
    if (s === undefined) continue
    const plan = s.ev?.plan
    if (s.ev !== undefined && plan !== undefined) {
      const blocks = plan.blocks.map(b => `${hhmm(b.start)} ${b.chargeWh} Wh (${b.purchases.reduce((x, y) => x + y.receivedWh, 0)} bought, ${b.gridWh} utility)`).join('; ')
      lines.push(`${p.name} EV plan: ${s.ev.miles} mi = ${s.ev.needWh} Wh by ${hhmm(s.ev.session.end)} UTC; ${plan.coveredWh} Wh planned${plan.feasible ? '' : ' (NOT feasible)'}: ${blocks}; cost ${formatMoney({ minor: plan.costMinor.offers, currency: s.ev.currency })} offers + ${formatMoney({ minor: plan.costMinor.grid, currency: s.ev.currency })} utility = ${formatMoney({ minor: plan.costMinor.total, currency: s.ev.currency })}`)
    }
    for (const [party, pos] of Object.entries(s.netPosition.byCounterparty)) {
      const money = Object.entries(pos.moneyMinor).map(([c, m]) => `${m >= 0 ? '+' : ''}${formatMoney({ minor: m, currency: c })}`).join(', ')
      lines.push(`${p.name} net position with ${names.get(party) ?? party.slice(0, 8)}: ${money}; energy sold ${pos.tradeWh.sold} Wh, bought ${pos.tradeWh.bought} Wh; services provided ${pos.serviceWh.provided} Wh, procured ${pos.serviceWh.procured} Wh (${pos.settlements} countersigned settlements)`)
    }
  }
  return lines
}
