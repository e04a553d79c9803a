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
  write('')
  write(`${'service'.padEnd(21)} ${'counterparty kind'.padEnd(21)} ${'settled'.padStart(8)} ${'disputed'.padStart(9)} ${'rejected'.padStart(9)} ${'energy'.padStart(12)} ${'amount'.padStart(11)}`)
  const groups = new Map<string, SummaryTx[]>()
  for (const t of txs) {
    const key = `${t.service}|${t.counterpartyRole}`
    groups.set(key, [...groups.get(key) ?? [], t])
  }
  for (const [key, group] of [...groups].sort()) {
    const [service, kind] = key.split('|') as [string, string]
    const ok = group.filter(t => t.status === 'settled')
    const paid = ok.reduce((s, t) => s + (t.paidEnergy ?? 0), 0)
    const minor = ok.reduce((s, t) => s + (t.amount?.minor ?? 0), 0)
    const unit = ok[0]?.unit === 'var' ? 'varh' : 'Wh'
    write(`${service.padEnd(21)} ${kind.padEnd(21)} ${String(ok.length).padStart(8)} ${String(group.filter(t => t.status === 'disputed').length).padStart(9)} ${String(group.filter(t => t.status === 'rejected').length).padStart(9)} ${`${paid} ${unit}`.padStart(12)} ${formatMoney({ minor, currency: ok[0]?.amount?.currency ?? 'USD' }).padStart(11)}`)
  }
  const disputes = txs.filter(t => t.dispute !== undefined)
  if (disputes.length > 0) write(`disputes: ${disputes.map(t => `${t.id.slice(0, 10)} ${t.dispute ?? ''}`).join('; ')}`)
  write('')
}
