// The inputs a settlement was computed from, kept under the transaction: the readings a
// requester fetched, and the regulation signal a requester sent (or a provider fetched), so
// either side can export the same audit bundle.
import type { Envelope } from '../records/envelope.js'
import type { NodeDb } from '../log/db.js'

export class TelemetryStore {
  private readonly readingsSub
  private readonly signalsSub
  constructor (private readonly db: NodeDb) {
    this.readingsSub = db.level.sublevel<string, Envelope[]>('telemetry', { valueEncoding: 'json' })
    this.signalsSub = db.level.sublevel<string, Envelope>('signals', { valueEncoding: 'json' })
  }

  async putReadings (commitmentId: string, readings: Envelope[]): Promise<void> {
    await this.db.committer.write([{ type: 'put', sublevel: this.readingsSub as never, key: commitmentId, value: readings }])
  }

  async readings (commitmentId: string): Promise<Envelope[] | undefined> {
    return await this.readingsSub.get(commitmentId)
  }

  async putSignals (commitmentId: string, signals: Array<{ seq: number, record: Envelope }>): Promise<void> {
    await this.db.committer.write(signals.map(s => ({ type: 'put' as const, sublevel: this.signalsSub as never, key: `${commitmentId}!${String(s.seq).padStart(7, '0')}`, value: s.record })))
  }

  async signals (commitmentId: string): Promise<Envelope[]> {
    return await this.signalsSub.values({ gt: `${commitmentId}!`, lt: `${commitmentId}!\xff` }).all()
  }
}
