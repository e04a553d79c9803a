// Live progress: one line per step per transaction. Plain lines suit both a terminal and a log.
import type { TxView } from '../../node/node.js'

export class Progress {
  private readonly seen = new Map<string, string>()
  constructor (private readonly write: (line: string) => void, private readonly simNow: () => number) {}

  private stamp (): string {
    return new Date(this.simNow()).toISOString().slice(11, 19)
  }

  line (text: string): void {
    this.write(`[sim ${this.stamp()}] ${text}`)
  }

  /** Reports every transaction whose status changed since the last call. */
  update (party: string, txs: TxView[], names: Map<string, string>): void {
    for (const tx of txs) {
      const key = `${party}/${tx.id}`
      if (this.seen.get(key) === tx.status) continue
      this.seen.set(key, tx.status)
      const other = names.get(tx.counterparty) ?? tx.counterparty.slice(0, 8)
      const detail = tx.status === 'settled'
        ? ` executed ${tx.executed ?? '?'} ${tx.quantity.unit} (${(tx.performance ?? 0) / 10}%), ${formatMoney(tx.amount)}`
        : tx.status === 'disputed' ? ` (${tx.dispute ?? ''})` : tx.status === 'rejected' ? ` (${tx.rejection ?? ''})` : ''
      this.line(`${party.padEnd(14)} ${tx.role === 'requester' ? '←' : '→'} ${other.padEnd(14)} ${tx.service.padEnd(20)} tx ${tx.id.slice(0, 10)}  ${tx.status}${detail}`)
    }
  }
}

export function formatMoney (amount: { minor: number, currency: string } | undefined): string {
  if (amount === undefined) return '-'
  return `${(amount.minor / 100).toFixed(2)} ${amount.currency}`
}
