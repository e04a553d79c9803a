// Ledger state between counterparties: the latest checkpoint of each counterparty's log that we
// have verified, kept durable, and the protocol by which one party proves to another that its log
// only grew since the last checkpoint the other holds. Settlements carry both parties' checkpoints.
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { Logger } from 'pino'
import type { NodeDb } from '../log/db.js'
import type { RecordLog } from '../log/record-log.js'
import { checkpointAt, consistencyProofBetween, currentCheckpoint, isConsistent, type LogCheckpoint } from '../log/checkpoint.js'
import type { PairgridLibp2p } from '../net/libp2p.js'
import { call, RefusedError } from '../net/rpc.js'
import { PROTOCOL_CHECKPOINT } from '../net/protocol-ids.js'
import { peerIdOfParty } from '../identity/peer.js'
import { CHECKPOINT_LIMITS } from '../grid/limits.js'
import { Hash } from '../records/common-schemas.js'

const Size = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
const Query = TypeCompiler.Compile(Type.Object({ from: Size, to: Type.Optional(Size) }, { additionalProperties: false }))
const Answer = TypeCompiler.Compile(Type.Object({
  checkpoint: Type.Object({ size: Size, root: Hash }, { additionalProperties: false }),
  proof: Type.Array(Hash, { maxItems: 128 })
}, { additionalProperties: false }))

export type Exchange =
  | { ok: true, theirs: LogCheckpoint }
  | { ok: false, reason: 'fork-detected' | 'unreachable', detail: string }

/** How long (wall ms) one checkpoint of our log serves the settlements we sign. */
const SHARED_CHECKPOINT_MS = 1_000
/** Checkpoints of other parties' logs proven to extend (or precede) the one we hold, remembered. */
const PROVEN_MAX = 4_096

export class Ledger {
  private readonly sub
  private readonly heldBy = new Map<string, LogCheckpoint>()
  /** Our checkpoint that settlements signed now carry, and when (performance.now()) it was taken. */
  private recent: { cp: LogCheckpoint, at: number } | undefined
  /** `party size root` of checkpoints proven consistent with the one we hold. */
  private readonly proven = new Set<string>()

  constructor (
    private readonly db: NodeDb,
    private readonly log: RecordLog,
    private readonly net: PairgridLibp2p,
    private readonly logger: Logger
  ) {
    this.sub = db.level.sublevel<string, LogCheckpoint>('ledger', { valueEncoding: 'json' })
  }

  async load (): Promise<void> {
    for await (const [party, cp] of this.sub.iterator()) this.heldBy.set(party, cp)
  }

  held (party: string): LogCheckpoint | undefined { return this.heldBy.get(party) }

  /**
   * A checkpoint of our log for a settlement to carry: settlements signed within a second of each
   * other share one, so the counterparty proves it once rather than once per settlement.
   */
  ours (): LogCheckpoint {
    const now = performance.now()
    if (this.recent === undefined || now - this.recent.at > SHARED_CHECKPOINT_MS) this.recent = { cp: currentCheckpoint(this.log), at: now }
    return this.recent.cp
  }

  private async hold (party: string, cp: LogCheckpoint): Promise<void> {
    const prev = this.heldBy.get(party)
    if (prev !== undefined && prev.size > cp.size) return
    this.heldBy.set(party, cp)
    await this.db.committer.write([{ type: 'put', sublevel: this.sub as never, key: party, value: cp }])
  }

  private readonly current = new Map<string, Promise<Exchange>>()

  /**
   * Asks the party for a checkpoint (its current one, or the one at `at`) with a proof that it
   * extends the checkpoint we hold; verifies and keeps it. Asks for the current one made while
   * another is on its way share it (any checkpoint the party's log had serves a settlement), as do
   * checks of one stated checkpoint: a burst of settlements with one counterparty makes one
   * exchange, not one each.
   */
  async exchange (party: string, at?: LogCheckpoint): Promise<Exchange> {
    // A checkpoint once proven stays consistent with what we hold (which only moves forward along
    // proven checkpoints): the settlements that carry one shared checkpoint are checked once.
    const key = at === undefined ? party : `${party} ${at.size} ${at.root}`
    if (at !== undefined && this.proven.has(key)) return { ok: true, theirs: at }
    const running = this.current.get(key)
    if (running !== undefined) return await running
    const started = this.exchangeOnce(party, at)
    this.current.set(key, started)
    try {
      const result = await started
      if (at !== undefined && result.ok) {
        this.proven.add(key)
        if (this.proven.size > PROVEN_MAX) this.proven.delete(this.proven.values().next().value!)
      }
      return result
    } finally {
      this.current.delete(key)
    }
  }

  private async exchangeOnce (party: string, at?: LogCheckpoint): Promise<Exchange> {
    const held = this.heldBy.get(party) ?? { size: 0, root: '' }
    // An older checkpoint than the one we hold (settlements checked out of signing order): the
    // one we hold must then extend it.
    if (at !== undefined && at.size < held.size) return await this.olderThanHeld(party, at, held)
    let answer: unknown
    try {
      answer = await call(this.net, peerIdOfParty(party), PROTOCOL_CHECKPOINT, { from: held.size, ...(at !== undefined ? { to: at.size } : {}) }, CHECKPOINT_LIMITS)
    } catch (err) {
      return { ok: false, reason: 'unreachable', detail: (err as Error).message }
    }
    if (!Answer.Check(answer)) return { ok: false, reason: 'fork-detected', detail: 'the checkpoint answer is malformed' }
    const theirs = answer.checkpoint
    if (at !== undefined && (theirs.size !== at.size || theirs.root !== at.root)) {
      return { ok: false, reason: 'fork-detected', detail: `the party's log at size ${at.size} has root ${theirs.root}, not the ${at.root} it signed` }
    }
    if (theirs.size < held.size || !isConsistent(held, theirs, answer.proof)) {
      this.logger.error({ party, held, theirs }, 'fork detected: the party\'s log does not extend the checkpoint we hold')
      return { ok: false, reason: 'fork-detected', detail: `log of size ${theirs.size} (root ${theirs.root.slice(0, 12)}…) does not extend the checkpoint we hold (size ${held.size}, root ${held.root.slice(0, 12)}…)` }
    }
    await this.hold(party, theirs)
    return { ok: true, theirs }
  }

  private async olderThanHeld (party: string, at: LogCheckpoint, held: LogCheckpoint): Promise<Exchange> {
    let answer: unknown
    try {
      answer = await call(this.net, peerIdOfParty(party), PROTOCOL_CHECKPOINT, { from: at.size, to: held.size }, CHECKPOINT_LIMITS)
    } catch (err) {
      return { ok: false, reason: 'unreachable', detail: (err as Error).message }
    }
    if (!Answer.Check(answer) || answer.checkpoint.size !== held.size || answer.checkpoint.root !== held.root || !isConsistent(at, held, answer.proof)) {
      return { ok: false, reason: 'fork-detected', detail: `the checkpoint of size ${at.size} is not a prefix of the one of size ${held.size} we hold` }
    }
    return { ok: true, theirs: at }
  }

  /** Handler of the checkpoint protocol: our checkpoint (now, or at `to`) and the proof from `from`. */
  onQuery (bytes: Uint8Array): { checkpoint: LogCheckpoint, proof: string[] } {
    let query: unknown
    try { query = JSON.parse(new TextDecoder().decode(bytes)) } catch { throw new RefusedError('malformed-json', 'checkpoint query is not JSON') }
    if (!Query.Check(query)) throw new RefusedError('schema', 'checkpoint query must be {"from": size, "to"?: size}')
    const to = query.to ?? this.log.head.size
    try {
      return { checkpoint: checkpointAt(this.log, to), proof: consistencyProofBetween(this.log, query.from, to) }
    } catch (err) {
      throw new RefusedError('out-of-range', (err as Error).message)
    }
  }
}
