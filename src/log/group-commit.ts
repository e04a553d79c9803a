// Group commit: writes issued while a synced batch is in flight are gathered into the next one,
// so many records share one fsync and none is acknowledged before it is on disk.
import type { AbstractBatchOperation } from 'abstract-level'
import type { Level } from 'level'

type Db = Level<string, unknown>
export type BatchOp = AbstractBatchOperation<Db, string, unknown>

/** The writes gathered for the next batch; they share one promise, settled when the batch is. */
interface Group { ops: BatchOp[], done: PromiseWithResolvers<void> }

export class GroupCommitter {
  private next: Group | undefined
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
    const group = this.next ??= { ops: [], done: Promise.withResolvers<void>() }
    for (const op of ops) group.ops.push(op)
    this.writes++
    // Flushing from a microtask lets writes issued together (a request and its commitment) share
    // the first batch instead of the second one waiting a whole fsync behind it.
    if (!this.flushing) {
      this.flushing = true
      queueMicrotask(() => { void this.flush() })
    }
    return group.done.promise
  }

  private take (): Group | undefined {
    const group = this.next
    this.next = undefined
    return group
  }

  private async flush (): Promise<void> {
    for (let group = this.take(); group !== undefined; group = this.take()) {
      try {
        for (const hook of this.groupHooks) group.ops.push(...hook())
        // classic-level honours `sync` (fsync before the callback); abstract-level's type omits it.
        await this.db.batch(group.ops, { sync: true } as object)
        this.batches++
        group.done.resolve()
      } catch (err) {
        // Later writes may depend on this one (hash chain): fail everything from here on.
        this.failure = new Error(`durable write failed: ${(err as Error).message}`)
        group.done.reject(this.failure)
        this.take()?.done.reject(this.failure)
      }
    }
    this.flushing = false
  }

  /** Resolves once everything queued so far is on disk. */
  async drain (): Promise<void> {
    if (this.next === undefined && !this.flushing) return
    await this.write([])
  }
}
