// `npm start`'s devnet: every kind of party as its own process, and a summary that shows every
// grid service, every price mechanism, every counterparty kind and the energy trades settled,
// with every bundle verified offline again here.
import { describe, it, expect, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath } from '../src/node/package-root.js'
import type { SummaryTx } from '../src/cli/devnet/summary.js'

const run = promisify(execFile)
const root = await mkdtemp(join(tmpdir(), 'pairgrid-devnet-'))
afterAll(async () => { await rm(root, { recursive: true, force: true }) })

describe('the default devnet scenario', () => {
  it('runs every party as a process and settles every service, mechanism, counterparty kind and trade', async () => {
    const out = join(root, 'out')
    const started = Date.now()
    const { stdout } = await run(process.execPath, [cliPath(), 'devnet', '--out', out], { timeout: 240_000 }).catch((err: Error & { stdout?: string }) => {
      throw new Error(`devnet failed:\n${(err.stdout ?? '').split('\n').filter(l => /FAILED|failed|disputed|expired/.test(l)).join('\n')}`)
    })
    const seconds = (Date.now() - started) / 1000
    expect(stdout).toMatch(/every expected transaction ended as expected and every bundle verified/)
    console.log(`default devnet: ${seconds.toFixed(1)} s wall`)

    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as { nodes: Array<{ name: string, role: string, pid: number }>, transactions: SummaryTx[] }
    expect(summary.nodes.map(n => n.role).sort()).toEqual(['building', 'building', 'building', 'community-energy', 'distribution-utility', 'ev-site', 'iso-rto', 'peer-facility'])
    expect(new Set(summary.nodes.map(n => n.pid)).size).toBe(8)
    const settled = summary.transactions.filter(t => t.status === 'settled')
    const grid = settled.filter(t => t.kind === 'grid-service')
    expect(new Set(grid.map(t => t.service))).toEqual(new Set(['frequency-regulation', 'demand-response', 'peak-shaving', 'voltage-support', 'reactive-power']))
    expect(new Set(grid.map(t => t.priceMechanism))).toEqual(new Set(['tariff', 'framework', 'auction']))
    expect(new Set(grid.map(t => t.counterpartyRole))).toEqual(new Set(['distribution-utility', 'iso-rto', 'community-energy', 'peer-facility']))
    const trades = settled.filter(t => t.kind === 'energy-trade')
    expect(trades.length).toBeGreaterThanOrEqual(4)
    expect(trades.some(t => t.requester === 'ev-site')).toBe(true)
    expect(summary.transactions.every(t => t.verified)).toBe(true)
    // Offline again, with the command a user types.
    for (const t of [...grid, ...trades]) {
      const { stdout: verdict } = await run(process.execPath, [cliPath(), 'verify', join(out, t.bundle)])
      expect(JSON.parse(verdict)).toMatchObject({ ok: true })
    }
  }, 300_000)
})
