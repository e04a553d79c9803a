// The devnet's closing table: transactions by service, counterparty kind and status; energy and
// money settled; disputes with their reasons.
import { formatMoney } from './progress.js'

export interface SummaryTx {
  id: string
  request: string
  kind: 'grid-service' | 'energy-trade'
  service: string
  marketplace: string
  requester: string
  provider: string
  counterpartyRole: string
  priceMechanism: string
  status: string
  verified: boolean
  fault?: string
  executed?: number
  unit?: string
  paidEnergy?: number
  performance?: number
  amount?: { minor: number, currency: string }
  dispute?: string
  rejection?: string
  bundle: string
}

export function printSummary (write: (line: string) => void, txs: SummaryTx[], requests: number): void {
  write('')
  write(`${'tx'.padEnd(11)} ${'service'.padEnd(21)} ${'marketplace'.padEnd(14)} ${'requester kind'.padEnd(21)} ${'provider'.padEnd(12)} ${'price'.padEnd(9)} ${'status'.padEnd(9)} ${'executed'.padStart(12)} ${'perf'.padStart(6)} ${'paid'.padStart(10)} ${'amount'.padStart(11)} ok`)
  for (const t of txs) {
    const executed = t.executed === undefined ? '-' : `${t.executed} ${t.unit ?? ''}`
    const paid = t.paidEnergy === undefined ? '-' : `${t.paidEnergy} ${t.unit === 'var' ? 'varh' : 'Wh'}`
    write(`${t.id.slice(0, 10).padEnd(11)} ${t.service.padEnd(21)} ${t.marketplace.padEnd(14)} ${t.counterpartyRole.padEnd(21)} ${t.provider.padEnd(12)} ${t.priceMechanism.padEnd(9)} ${t.status.padEnd(9)} ${executed.padStart(12)} ${(t.performance === undefined ? '-' : `${t.performance / 10}%`).padStart(6)} ${paid.padStart(10)} ${formatMoney(t.amount).padStart(11)} ${t.verified ? 'yes' : 'NO'}`)
    if (t.dispute !== undefined) write(`${''.padEnd(11)} dispute: ${t.dispute}`)
    if (t.rejection !== undefined) write(`${''.padEnd(11)} rejected: ${t.rejection}`)
  }
  const settled = txs.filter(t => t.status === 'settled')
  const energy = settled.filter(t => t.unit !== 'var').reduce((s, t) => s + (t.paidEnergy ?? 0), 0)
  const reactive = settled.filter(t => t.unit === 'var').reduce((s, t) => s + (t.paidEnergy ?? 0), 0)
  const money = new Map<string, number>()
  for (const t of settled) if (t.amount !== undefined) money.set(t.amount.currency, (money.get(t.amount.currency) ?? 0) + t.amount.minor)
  write('')
  write(`${requests} request(s), ${txs.length} transaction(s): ${settled.length} settled, ${txs.filter(t => t.status === 'disputed').length} disputed, ${txs.filter(t => t.status === 'rejected').length} rejected`)
  write(`settled: ${energy} Wh of energy services, ${reactive} varh of reactive services; money ${[...money].map(([c, m]) => formatMoney({ minor: m, currency: c })).join(', ') || '0'}`)
  const byService = new Map<string, number>()
  for (const t of settled) byService.set(t.service, (byService.get(t.service) ?? 0) + 1)
  write(`settled by service: ${[...byService].map(([s, n]) => `${s} ${n}`).join(', ') || 'none'}`)
  write('')
}
