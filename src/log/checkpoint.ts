// Log checkpoints: (size, RFC 9162 root) of a party's log at some moment, and consistency proofs
// between two of them — the proof that the later log extends the earlier one unchanged. A party
// that rewrites or forks its history cannot produce one.
import { verifyConsistency } from './merkle.js'
import { fromHex, toHex } from '../records/bytes.js'
import type { RecordLog } from './record-log.js'

export interface LogCheckpoint { size: number, root: string }

export function currentCheckpoint (log: RecordLog): LogCheckpoint {
  const { size, root } = log.head
  return { size, root }
}

/** The checkpoint the log had at an earlier size. */
export function checkpointAt (log: RecordLog, size: number): LogCheckpoint {
  if (!Number.isSafeInteger(size) || size < 0 || size > log.head.size) throw new RangeError(`no checkpoint of size ${size}: the log holds ${log.head.size} entries`)
  return { size, root: toHex(log.tree.root(size)) }
}

/** Proof that the log at `to` extends the log at `from` (empty when from is 0 or equal). */
export function consistencyProofBetween (log: RecordLog, from: number, to: number): string[] {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to || to > log.head.size) throw new RangeError(`no proof from ${from} to ${to}: the log holds ${log.head.size} entries`)
  if (from === 0 || from === to) return []
  return log.tree.consistencyProof(from, to).map(toHex)
}

/** Whether `next` extends `prev`: every log extends the empty one; equal sizes need equal roots. */
export function isConsistent (prev: LogCheckpoint, next: LogCheckpoint, proof: readonly string[]): boolean {
  if (prev.size === 0) return true
  if (prev.size === next.size) return prev.root === next.root && proof.length === 0
  if (proof.some(p => !/^[0-9a-f]{64}$/.test(p))) return false
  return verifyConsistency(prev.size, next.size, proof.map(fromHex), fromHex(prev.root), fromHex(next.root))
}
