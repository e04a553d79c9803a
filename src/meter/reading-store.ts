// This node's own meter readings, keyed by the time they close, next to the plant and meter state
// they end: readings and the snapshot of the last one go to disk in one durable batch, so a
// restart never finds a reading without the registers that follow from it, or the reverse.
import type { NodeDb } from '../log/db.js'
import { recordId, type Envelope } from '../records/envelope.js'
import type { Reading } from './meter.js'

// 15 digits hold every Time up to year 9999, so keys sort as times.
const timeKey = (t: number): string => t.toString().padStart(15, '0')
const SNAPSHOT_KEY = 'plant'

export class ReadingStore {
  private readonly readings
  private readonly state

  constructor (private readonly db: NodeDb) {
    this.readings = db.level.sublevel<string, Envelope<'meter.reading'>>('readings', { valueEncoding: 'json' })
    this.state = db.level.sublevel<string, unknown>('state', { valueEncoding: 'json' })
  }

  /** Stores readings and the snapshot the last of them ends, in one durable batch; resolves once on disk. */
  async append (readings: readonly Reading[], snapshot: unknown): Promise<void> {
    await this.db.committer.write([
      ...readings.map(r => ({ type: 'put' as const, sublevel: this.readings as never, key: timeKey(r.record.body.t), value: r.record })),
      { type: 'put', sublevel: this.state as never, key: SNAPSHOT_KEY, value: snapshot }
    ])
  }

  async saveSnapshot (snapshot: unknown): Promise<void> {
    await this.db.committer.write([{ type: 'put', sublevel: this.state as never, key: SNAPSHOT_KEY, value: snapshot }])
  }

  async snapshot (): Promise<unknown> {
    return await this.state.get(SNAPSHOT_KEY)
  }

  /** Readings closing at from <= t <= to, in time order. */
  async range (from: number, to: number): Promise<Reading[]> {
    const out: Reading[] = []
    if (to < from || to < 0) return out
    for await (const record of this.readings.values({ gte: timeKey(Math.max(0, from)), lte: timeKey(to) })) {
      out.push({ id: recordId(record), record })
    }
    return out
  }
}
