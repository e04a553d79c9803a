// Group commit: writes issued while a synced batch is in flight are gathered into the next one,
// so many records share one fsync and none is acknowledged before it is on disk.
import type { AbstractBatchOperation } from 'abstract-level'
import type { Level } from 'level'

type Db = Level<string, unknown>
export type BatchOp = AbstractBatchOperation<Db, string, unknown>

interface Pending { ops: BatchOp[], resolve: () => void, reject: (err: Error) => void }

export class GroupCommitter {
  private queue: Pending[] = []
  private flushing = false
  private failure: Error | undefined
  private readonly groupHooks: Array<() => BatchOp[]> = []
  /** Number of synced batches written; with `writes` it shows how well commits group. */
  batches = 0
  writes = 0

  constructor (private readonly db: Db) {}

  get failed (): Error | undefined { return this.failure }

  /** `hook` is called as each batch is formed and may add ops to it (a head written once per batch). */
  onGroup (hook: () => BatchOp[]): void { this.groupHooks.push(hook) }

  write (ops: BatchOp[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    this.queue.push({ ops, resolve, reject })
    this.writes++
    // Flushing from a microtask lets writes issued together (a request and its commitment) share
    // the first batch instead of the second one waiting a whole fsync behind it.
    if (!this.flushing) {
      this.flushing = true
      queueMicrotask(() => { void this.flush() })
    }
    return promise
  }

  private async flush (): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue
      this.queue = []
      try {
        // classic-level honours `sync` (fsync before the callback); abstract-level's type omits it.
        const ops = group.flatMap(p => p.ops)
        for (const hook of this.groupHooks) ops.push(...hook())
        await this.db.batch(ops, { sync: true } as object)
        this.batches++
        for (const p of group) p.resolve()
      } catch (err) {
        // Later writes may depend on this one (hash chain): fail everything from here on.
        this.failure = new Error(`durable write failed: ${(err as Error).message}`)
        for (const p of [...group, ...this.queue]) p.reject(this.failure)
        this.queue = []
      }
    }
    this.flushing = false
  }

  /** Resolves once everything queued so far is on disk. */
  async drain (): Promise<void> {
    if (this.queue.length === 0 && !this.flushing) return
    await this.write([])
  }
}
