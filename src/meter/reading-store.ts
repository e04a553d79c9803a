// This node's own meter readings, keyed by the time they close, next to the plant and meter state
// they end: a reading and its snapshot go to disk in one durable batch, so a restart never finds
// a reading without the registers that follow from it, or the reverse.
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

  /** Stores a reading and the snapshot it ends; resolves once both are on disk. */
  async append (reading: Reading, snapshot: unknown): Promise<void> {
    await this.db.committer.write([
      { type: 'put', sublevel: this.readings as never, key: timeKey(reading.record.body.t), value: reading.record },
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
