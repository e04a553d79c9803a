// Readings a requester fetched from a provider, kept under the transaction they settle so the
// requester can export the same audit bundle as the provider.
import type { Envelope } from '../records/envelope.js'
import type { NodeDb } from '../log/db.js'

export class TelemetryStore {
  private readonly sub
  constructor (private readonly db: NodeDb) {
    this.sub = db.level.sublevel<string, Envelope[]>('telemetry', { valueEncoding: 'json' })
  }

  async put (commitmentId: string, readings: Envelope[]): Promise<void> {
    await this.db.committer.write([{ type: 'put', sublevel: this.sub as never, key: commitmentId, value: readings }])
  }

  async get (commitmentId: string): Promise<Envelope[] | undefined> {
    return await this.sub.get(commitmentId)
  }
}
