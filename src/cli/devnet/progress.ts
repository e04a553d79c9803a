// Live progress: one line per step per transaction; on a terminal also a counter line redrawn in
// place under them. Plain lines only when the output is not a TTY (CI, files, pipes).
import type { TxView } from '../../node/node.js'

export class Progress {
  private readonly seen = new Map<string, string>()
  private status = ''

  constructor (
    private readonly write: (line: string) => void,
    private readonly simNow: () => number,
    private readonly tty = false
  ) {}

  private stamp (): string {
    return new Date(this.simNow()).toISOString().slice(11, 19)
  }

  line (text: string): void {
    if (this.tty && this.status !== '') process.stdout.write('\r\x1b[2K')
    this.write(`[sim ${this.stamp()}] ${text}`)
    if (this.tty && this.status !== '') process.stdout.write(this.status)
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

  /** The counter line (terminal only): transactions by status across every requester. */
  counters (requests: number, txs: TxView[]): void {
    if (!this.tty) return
    const by = (s: string): number => txs.filter(t => t.status === s).length
    this.status = `  [sim ${this.stamp()}] requests ${requests} · proposed ${by('proposed')} · accepted ${by('accepted') + by('settling')} · settled ${by('settled')} · disputed ${by('disputed')} · rejected ${by('rejected')}`
    process.stdout.write(`\r\x1b[2K${this.status}`)
  }

  /** Ends the counter line so what follows starts on a fresh line. */
  finish (): void {
    if (this.tty && this.status !== '') process.stdout.write('\n')
    this.status = ''
  }
}

export function formatMoney (amount: { minor: number, currency: string } | undefined): string {
  if (amount === undefined) return '-'
  return `${(amount.minor / 100).toFixed(2)} ${amount.currency}`
}
