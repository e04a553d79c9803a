// The log's lookup index, kept in memory: rebuilt at open (which reads every entry anyway to check
// the chain) and extended on each append. Persisting it cost five LevelDB puts per record.
import type { Envelope } from '../records/envelope.js'

/** Body fields holding ids a record points at; a transaction's records are found under them. */
const REFERENCE_FIELDS = ['request', 'commitment', 'acceptance', 'settlement', 'offer', 'certificate']
/** Body fields naming parties, for the by-counterparty index. */
const PARTY_FIELDS = ['requester', 'provider', 'by', 'against', 'meter', 'producer', 'buyer']

export interface LogQuery {
  type?: string
  /** A record id: the record itself and every record referencing it. */
  tx?: string
  party?: string
}

function push (map: Map<string, number[]>, key: string, seq: number): void {
  const seqs = map.get(key)
  if (seqs === undefined) map.set(key, [seq])
  else if (seqs.at(-1) !== seq) seqs.push(seq)
}

export class LogIndex {
  private readonly byId = new Map<string, number[]>()
  private readonly byRef = new Map<string, number[]>()
  private readonly byType = new Map<string, number[]>()
  private readonly byParty = new Map<string, number[]>()

  add (seq: number, id: string, record: Envelope): void {
    push(this.byId, id, seq)
    push(this.byType, record.type, seq)
    const body = record.body as Record<string, unknown>
    // push() skips a seq already last in its list, so a party named twice is indexed once.
    for (const field of REFERENCE_FIELDS) {
      const ref = body[field]
      if (typeof ref === 'string') push(this.byRef, ref, seq)
    }
    for (const field of PARTY_FIELDS) {
      const party = body[field]
      if (typeof party === 'string') push(this.byParty, party, seq)
    }
  }

  /** Seqs of the first `limit` entries matching every given filter, ascending. */
  select (q: LogQuery, size: number, limit: number): number[] {
    const lists: number[][] = []
    if (q.type !== undefined) lists.push(this.byType.get(q.type) ?? [])
    if (q.party !== undefined) lists.push(this.byParty.get(q.party) ?? [])
    if (q.tx !== undefined) lists.push([...(this.byId.get(q.tx) ?? []), ...(this.byRef.get(q.tx) ?? [])].sort((a, b) => a - b))
    if (lists.length === 0) return Array.from({ length: Math.min(size, limit) }, (_, i) => i)
    lists.sort((a, b) => a.length - b.length)
    const [first, ...rest] = lists as [number[], ...number[][]]
    const others = rest.map(l => new Set(l))
    const out: number[] = []
    for (const seq of first) {
      if (out.length >= limit) break
      if (others.every(s => s.has(seq))) out.push(seq)
    }
    return out
  }
}
