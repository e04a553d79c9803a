// The trades scenario through `pairgrid devnet`: every party its own process; offers of 5- and
// 15-minute blocks, a bid answered, an EV site's least-cost plan, a demand response beside them;
// every trade settled, certified, retired once and its bundle verified from both logs.
import { describe, it, expect, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath, packageRoot } from '../src/node/package-root.js'
import type { SummaryTx } from '../src/cli/devnet/summary.js'
import { verifyTradeBundle } from '../src/trade/bundle.js'

const run = promisify(execFile)
const root = await mkdtemp(join(tmpdir(), 'pairgrid-trades-'))
afterAll(async () => { await rm(root, { recursive: true, force: true }) })

describe('devnet trades scenario', () => {
  it('settles, certifies and retires every trade; bundles verify offline; the EV plan covers its need', async () => {
    const out = join(root, 'out')
    const { stdout } = await run(process.execPath, [cliPath(), 'devnet', '--scenario', join(packageRoot(), 'devnet', 'trades.json'), '--out', out], { timeout: 120_000 })
    expect(stdout).toMatch(/every expected transaction ended as expected and every bundle verified/)
    expect(stdout).toMatch(/energy trades: 5 settled with 5 certificates; 5 retired once, 5 second retirements refused/)
    expect(stdout).toMatch(/ev-site EV plan: 12 mi = 3429 Wh by 14:30 UTC; 3429 Wh planned/)
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as { transactions: SummaryTx[] }
    const trades = summary.transactions.filter(t => t.kind === 'energy-trade')
    expect(trades).toHaveLength(5)
    expect(new Set(trades.map(t => t.service))).toEqual(new Set(['energy 15-min', 'energy 5-min']))
    expect(new Set(trades.map(t => t.priceMechanism))).toEqual(new Set(['offer', 'bid']))
    expect(new Set(trades.map(t => t.counterpartyRole))).toEqual(new Set(['building', 'ev-site']))
    expect(summary.transactions.filter(t => t.kind === 'grid-service' && t.status === 'settled')).toHaveLength(1)
    for (const t of trades) {
      expect(t).toMatchObject({ status: 'settled', verified: true, provider: 'pv-building' })
      const verdict = verifyTradeBundle(JSON.parse(await readFile(join(out, t.bundle), 'utf8')))
      expect(verdict).toMatchObject({ ok: true, summary: { status: 'settled', retired: true, gridConnect: 'parallel', metersBound: true } })
    }
  }, 130_000)
})
