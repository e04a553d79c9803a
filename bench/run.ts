// Runs the benchmarks in sequence: `node dist/bench/run.js [--quick] [--only a,b]`.
// Figures are measurements, not pass/fail; every figure is printed for people and as one JSON line.
import '../src/polyfill.js'
import { emit, type Bench, type BenchResult } from './report.js'

const BENCHES: Array<[string, () => Promise<{ run: Bench }>]> = [
  ['sign-verify', async () => await import('./sign-verify.js')],
  ['log-append', async () => await import('./log-append.js')],
  ['dispatch-latency', async () => await import('./dispatch-latency.js')],
  ['gossip-reach', async () => await import('./gossip-reach.js')],
  ['four-step-throughput', async () => await import('./throughput.js')],
  ['memory', async () => await import('./memory.js')],
  ['audit-verify', async () => await import('./audit-verify.js')]
]

function parseArgs (argv: string[]): { quick: boolean, only?: Set<string> } {
  let quick = false
  let only: Set<string> | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--quick') quick = true
    else if (a === '--only') only = new Set((argv[++i] ?? '').split(',').map(s => s.trim()).filter(Boolean))
    else if (a.startsWith('--only=')) only = new Set(a.slice(7).split(',').map(s => s.trim()).filter(Boolean))
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: npm run bench -- [--quick] [--only ${BENCHES.map(b => b[0]).join(',')}]\n`)
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  // `--only sign,log` matches by prefix: sign → sign-verify, log → log-append.
  if (only !== undefined) {
    const names = BENCHES.map(b => b[0])
    const resolved = new Set<string>()
    for (const o of only) {
      const hits = names.filter(n => n === o || n.startsWith(o))
      if (hits.length === 0) throw new Error(`no benchmark matches ${o}; known: ${names.join(', ')}`)
      hits.forEach(h => resolved.add(h))
    }
    only = resolved
  }
  return { quick, ...(only !== undefined ? { only } : {}) }
}

async function main (): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2))
  const t0 = Date.now()
  const os = await import('node:os')
  process.stdout.write(`pairgrid benchmarks (${quick ? 'quick' : 'full'}), node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
  process.stdout.write('(figures on a shared machine move with its load: each JSON line carries the 1-minute load average at the start of its benchmark as load1)\n')
  const all: BenchResult[] = []
  const failed: string[] = []
  for (const [name, load] of BENCHES) {
    if (only !== undefined && !only.has(name)) continue
    const started = Date.now()
    const load1 = Math.round(os.loadavg()[0]! * 100) / 100
    try {
      const results = (await (await load()).run({ quick })).map(r => ({ ...r, load1 }))
      for (const r of results) emit(r)
      all.push(...results)
    } catch (err) {
      failed.push(name)
      process.stdout.write(`  !! ${name} could not run: ${(err as Error).stack ?? String(err)}\n`)
    }
    process.stdout.write(`  (${name} took ${((Date.now() - started) / 1000).toFixed(1)} s)\n`)
  }
  process.stdout.write(`\n${all.length} figures in ${((Date.now() - t0) / 1000).toFixed(1)} s${failed.length > 0 ? `; could not run: ${failed.join(', ')}` : ''}\n`)
  // A benchmark that cannot run is an error (a figure that misses its target is not).
  process.exitCode = failed.length > 0 ? 1 : 0
}

main().catch(err => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
