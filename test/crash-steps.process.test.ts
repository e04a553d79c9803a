// Crash at every step: kill -9 (SIGKILL, injected at a named point) of the building or of the
// requester at each point of the four steps; restarted on the same data dir, the transaction
// completes or ends in an explicit signed state, with no acknowledged record lost, none
// duplicated, no double settlement, and both logs consistent.
import { describe, it, expect } from 'vitest'
import { join } from 'node:path'
import { Cluster, scenarioFile } from './helpers/cluster.js'
import { CRASH_POINTS, type CrashPoint } from '../src/node/fault-points.js'
import type { LogEntry } from '../src/log/record-log.js'
import { logEntries } from './helpers/log-entries.js'
import { canonicalize } from '../src/records/canonical.js'
import { verifyBundle, type AuditBundle } from '../src/log/bundle.js'


const signer = (e: LogEntry): string => e.record.sigs[0]!.by

const survived: string[] = []

describe('crash at every step', () => {
  it.each(CRASH_POINTS.map(p => [p]))('%s', async (point: CrashPoint) => {
    const cluster = await Cluster.create(await scenarioFile('slice'), 300)
    const victim = point.startsWith('provider') ? 'building-a' : 'utility'
    try {
      await cluster.start('utility', victim === 'utility' ? { PAIRGRID_CRASH_AT: point } : undefined)
      await cluster.start('building-a', victim === 'building-a' ? { PAIRGRID_CRASH_AT: point } : undefined)
      await cluster.waitForMesh(['utility', 'building-a'], 'utility-dr')
      const parties = { utility: (await cluster.status('utility')).party, 'building-a': (await cluster.status('building-a')).party }
      const requestId = await cluster.scenarioRequest(0)

      const killed = cluster.node(victim)
      await Promise.race([killed.exited, new Promise((_resolve, reject) => setTimeout(() => reject(new Error(`${victim} never reached ${point}`)), 60_000))])
      expect(killed.child.signalCode).toBe('SIGKILL')
      await cluster.start(victim)

      const final = await cluster.waitFor('a final state at both sides', async () => {
        const u = await cluster.txOf('utility', requestId)
        const b = await cluster.txOf('building-a', requestId)
        return u !== undefined && b !== undefined && ['settled', 'disputed'].includes(u.status) && u.status === b.status ? u : undefined
      }, 120_000)
      const bundle = await cluster.node('utility').control.call<AuditBundle>('GET', `/v1/transactions/${final.id}/bundle`)
      expect(verifyBundle(bundle).ok).toBe(true)
      await cluster.stop()

      const logs = { utility: await logEntries(cluster.dir('utility')), 'building-a': await logEntries(cluster.dir('building-a')) }
      for (const es of Object.values(logs)) {
        // None duplicated: each record once as `record`, once more at most as its countersigned `cosign`.
        const records = es.filter(e => e.kind === 'record').map(e => e.id)
        expect(new Set(records).size).toBe(records.length)
        for (const e of es.filter(x => x.kind === 'cosign')) expect(records).toContain(e.id)
        // No double settlement: one settlement per commitment.
        const settlements = new Set(es.filter(e => e.record.type === 'grid.settlement').map(e => e.id))
        expect(settlements.size).toBe(1)
      }
      // Nothing acknowledged lost: every record a party signed that its counterparty holds, it holds too.
      for (const [name, es] of Object.entries(logs)) {
        const other = name === 'utility' ? logs['building-a'] : logs.utility
        const mine = new Set(es.map(e => e.id))
        for (const e of other.filter(x => signer(x) === parties[name as keyof typeof parties])) expect(mine.has(e.id)).toBe(true)
      }
      // Both logs consistent: the final version of every shared record is identical.
      const latest = (es: LogEntry[]): Map<string, string> => new Map(es.map(e => [e.id, canonicalize(e.record)]))
      const u = latest(logs.utility)
      const b = latest(logs['building-a'])
      for (const [id, rec] of u) if (b.has(id)) expect(b.get(id)).toBe(rec)
      survived.push(`${point}: ${final.status}${final.dispute !== undefined ? ` (${final.dispute.split(':')[0] ?? ''})` : ''}`)
    } finally {
      await cluster.destroy()
    }
  }, 240_000)

  it('reports the crash points survived', () => {
    console.log(`crash points survived: ${survived.length}/${CRASH_POINTS.length}\n  ${survived.join('\n  ')}`)
    expect(survived).toHaveLength(CRASH_POINTS.length)
  })
})
