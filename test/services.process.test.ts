// All five grid services, each settled end to end over TCP between two processes (a utility and
// a building), each by its own settlement method, and each audit bundle verifying offline.
import { describe, it, expect, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath, packageRoot } from '../src/node/package-root.js'
import { verifyBundle, type AuditBundle } from '../src/log/bundle.js'
import type { SummaryTx } from '../src/cli/devnet/summary.js'

const run = promisify(execFile)
const root = await mkdtemp(join(tmpdir(), 'pairgrid-services-'))
afterAll(async () => { await rm(root, { recursive: true, force: true }) })

describe('the five grid services', () => {
  it('each settles end to end between two processes by its own method', async () => {
    const out = join(root, 'out')
    const { stdout } = await run(process.execPath, [cliPath(), 'devnet', '--scenario', join(packageRoot(), 'devnet', 'services.json'), '--out', out], { timeout: 240_000 })
    expect(stdout).toMatch(/every expected transaction ended as expected/)
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as { nodes: Array<{ pid: number }>, transactions: SummaryTx[] }
    expect(new Set(summary.nodes.map(n => n.pid)).size).toBe(2)
    const byService = new Map(summary.transactions.map(t => [t.service, t]))
    expect([...byService.keys()].sort()).toEqual(['demand-response', 'frequency-regulation', 'peak-shaving', 'reactive-power', 'voltage-support'])
    const methods = new Map<string, string>()
    for (const t of summary.transactions) {
      expect(t.status).toBe('settled')
      const bundle = JSON.parse(await readFile(join(out, t.bundle), 'utf8')) as AuditBundle
      const verdict = verifyBundle(bundle)
      expect(verdict.ok).toBe(true)
      if (!verdict.ok) continue
      expect(verdict.summary.meterCertified).toBe(true)
      const settlement = bundle.records.find(r => r.type === 'grid.settlement')!.body as { settlementMethod: string, performance: number, committed: { unit: string } }
      methods.set(t.service, settlement.settlementMethod)
      // Within the marketplace's 15% tolerance, or it would have been disputed.
      expect(settlement.performance).toBeGreaterThanOrEqual(850)
      expect(settlement.committed.unit).toBe(['reactive-power', 'voltage-support'].includes(t.service) ? 'var' : 'W')
      // Regulation carries the requester's signed 2-s signal; the others carry none.
      expect(bundle.signals.length > 0).toBe(t.service === 'frequency-regulation')
    }
    expect(Object.fromEntries(methods)).toEqual({
      'demand-response': 'pairgrid/dr-mbe/1',
      'reactive-power': 'pairgrid/var-setpoint/1',
      'frequency-regulation': 'pairgrid/regd-score/1',
      'voltage-support': 'pairgrid/volt-var/1',
      'peak-shaving': 'pairgrid/peak-cap/1'
    })
  }, 300_000)
})
