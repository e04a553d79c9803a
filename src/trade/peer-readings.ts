// The counterparty's meter readings a settlement was computed or checked from, kept under the
// trade, so either party can export the same audit bundle.
import type { Envelope } from '../records/envelope.js'
import type { NodeDb } from '../log/db.js'

export class PeerReadings {
  private readonly sub
  constructor (private readonly db: NodeDb) {
    this.sub = db.level.sublevel<string, unknown[]>('trade-readings', { valueEncoding: 'json' })
  }

  async put (tradeId: string, readings: readonly unknown[]): Promise<void> {
    await this.db.committer.write([{ type: 'put', sublevel: this.sub as never, key: tradeId, value: readings }])
  }

  async get (tradeId: string): Promise<Envelope[]> {
    return (await this.sub.get(tradeId) ?? []) as Envelope[]
  }
}
