// four-step throughput: settled transactions per second between one requester and several
// buildings — request, commitment, execution, settlement, every step signed and durably logged by
// both sides. The requester is a real PairgridNode in this process (a utility's software driving
// its node); every building is a real `pairgrid start` process with its own LevelDB and simulated
// meter, over loopback TCP. Each building is in its own marketplace operated by the requester, so
// each request reaches exactly one building: a pair (in one shared marketplace every building
// would commit to every request and all but one be refused `filled`, see the scale plan).
//
// Short windows: 1-minute demand-response windows (`dr-mbe/1`, 1-minute settlement interval,
// readings every 10 s), run at a clock speed. Windows come in slots; the K transactions of one slot
// and pair share a window (the meter cannot tell their responses apart; the building reduces by
// their sum and each settles against it) and slots are two window lengths apart so no baseline
// span holds an earlier window. A slot's requests are published at a steady pace during the slot
// before its window; the pairs' slots are staggered so their settlement bursts do not coincide.
// The figure is an offered-load test: settled transactions per pair over the time the offered
// transactions span (slots × slot length); below the offered rate means some did not settle.
import { join } from 'node:path'
import { pino } from 'pino'
import { PairgridNode } from '../src/node/node.js'
import { scaledClock } from '../src/node/clock.js'
import { spawnNode, stopNode, type NodeProcess } from '../src/cli/devnet/processes.js'
import { settlementExpiry } from '../src/grid/context.js'
import type { Verified } from '../src/records/envelope.js'
import { BENCH_SIM_START, drRequest, provisionBench } from './cluster.js'
import { sleep, trackChild, waitFor } from './fixtures.js'
import { header, result, say, type BenchOptions, type BenchResult } from './report.js'
import { procCpuMs } from './proc.js'
import { round, summarize } from './stats.js'

const WINDOW_MS = 60_000
const SLOT_MS = 2 * WINDOW_MS
const QUANTITY_W = 100
/** The issue's target, settled tx/s per pair. */
const TARGET_PER_PAIR = 100
/** Offered per pair to find what 2 pairs can settle. */
const CAPACITY_OFFERED = 150

interface Outcome { settled: number[], disputed: string[], expired: string[], windowEnd: Map<string, number>, settledLag: number[] }

/** Watches the requester's book: countersigned settlements, disputes and expiries, timed. */
function watch (node: PairgridNode, clock: { now: () => number }, speed: number): Outcome {
  const out: Outcome = { settled: [], disputed: [], expired: [], windowEnd: new Map(), settledLag: [] }
  const book = node.book
  const add = book.add.bind(book)
  book.add = (v: Verified) => {
    add(v)
    const body = v.record.body as { commitment?: string, reason?: string, stage?: string, window?: { end: number } }
    if (v.record.type === 'grid.settlement' && v.record.sigs.length === 2) {
      out.settled.push(performance.now())
      const end = body.window?.end ?? book.txs.get(body.commitment!)?.commitment.record.body.window.end
      if (end !== undefined) out.settledLag.push((clock.now() - end) / speed)
    } else if (v.record.type === 'grid.dispute') out.disputed.push(body.reason ?? '?')
    else if (v.record.type === 'grid.expiry') out.expired.push(body.stage ?? '?')
  }
  return out
}

export async function run ({ quick }: BenchOptions): Promise<BenchResult[]> {
  header('four-step-throughput', 'settled transactions/s between one requester and several buildings, short windows')
  // The headline runs 2 pairs at the target rate; the full run adds 1 and 3 pairs to show where
  // this 2-core box runs out, and 2 pairs offered half as much again: what they settle then is
  // their capacity (at the target rate the figure cannot exceed it). BENCH_THROUGHPUT_PAIRS=3 (or
  // 1,3) runs just those cases at BENCH_THROUGHPUT_RATE per pair (default: the target).
  const only = process.env.BENCH_THROUGHPUT_PAIRS?.split(',').map(Number)
  const rate = Number(process.env.BENCH_THROUGHPUT_RATE ?? TARGET_PER_PAIR)
  const cases = only?.map(pairs => ({ pairs, offered: rate })) ??
    (quick ? [{ pairs: 2, offered: rate }] : [{ pairs: 2, offered: rate }, { pairs: 1, offered: rate }, { pairs: 3, offered: rate }, { pairs: 2, offered: CAPACITY_OFFERED }])
  const out: BenchResult[] = []
  for (const { pairs, offered } of cases) {
    const name = pairs === 2 ? (offered === CAPACITY_OFFERED ? 'four-step-throughput/2-pairs-capacity' : 'four-step-throughput') : `four-step-throughput/${pairs}-pair${pairs > 1 ? 's' : ''}`
    out.push(await runPairs(pairs, quick ? 2 : 4, name, offered))
  }
  return out
}

export async function runPairs (pairs: number, slots: number, name: string, offered: number): Promise<BenchResult> {
  const speed = Number(process.env.BENCH_THROUGHPUT_SPEED ?? 30)
  const slotWallS = SLOT_MS / speed / 1000
  const perSlot = Math.round(offered * slotWallS)
  say(`${pairs} pairs (requester in this process, each building its own process and marketplace), clock ${speed}×: 1-min windows every ${slotWallS} s wall per pair, ${perSlot} transactions per window and pair (${QUANTITY_W} W each), ${slots} slots: offered ${offered} tx/s per pair`)
  // The marketplaces' settlement interval (BENCH_THROUGHPUT_SETTLE_MIN, default 1 min): it sets
  // when a settlement is due and when the requester expires it (settlementExpiry).
  const settleMs = Number(process.env.BENCH_THROUGHPUT_SETTLE_MIN ?? 1) * 60_000
  const m = await provisionBench(pairs, 'throughput', { marketplacePerBuilding: true, meterIntervalMs: 10_000, settlementIntervalMs: settleMs, minimumBidW: QUANTITY_W })
  const origin = { wall: Date.now(), sim: BENCH_SIM_START, speed }
  const clock = scaledClock(origin)
  const procs: NodeProcess[] = []
  let requester: PairgridNode | undefined
  try {
    const logger = pino({ level: 'info' }, pino.destination({ dest: join(m.root, 'requester.log'), sync: false }))
    requester = await PairgridNode.start(m.dir(m.requester), { clock, logger, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] })
    const addr = requester.net.getMultiaddrs()[0]!.toString()
    // BENCH_WORKER_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the building processes.
    const nodeArgs = process.env.BENCH_WORKER_ARGS?.split(' ').filter(Boolean) ?? []
    for (const name of m.buildings) {
      const p = await spawnNode({ name, dir: m.dir(name), bootstrap: [addr], clockOrigin: `${origin.wall}:${origin.sim}`, speed, nodeArgs })
      trackChild(p.child)
      procs.push(p)
    }
    const node = requester
    await waitFor('a mesh in every pair\'s marketplace', () => m.buildings.every((_, i) => node.channel.meshPeers(m.marketplaceOf(i)) > 0) ? true : undefined, 30_000, 50)
    const outcome = watch(node, clock, speed)
    const cpu0 = { requester: process.cpuUsage(), buildings: await Promise.all(procs.map(async p => await procCpuMs(p.child.pid!))) }

    // Pair p's slot j window starts at first + j·SLOT + p·SLOT/pairs (whole minutes); its requests
    // go out evenly over the slot before it, in rounds of 50 ms.
    const first = Math.ceil(clock.now() / WINDOW_MS) * WINDOW_MS + SLOT_MS
    const stagger = Math.floor(SLOT_MS / pairs / WINDOW_MS) * WINDOW_MS
    const windows = Array.from({ length: pairs }, (_, p) => Array.from({ length: slots }, (_, j) => first + j * SLOT_MS + p * stagger))
    const ROUND_MS = 50
    // Publishing stops a quarter window before the window starts: commitments need time to arrive.
    const publishSpan = SLOT_MS - WINDOW_MS / 4
    const rounds = Math.max(1, Math.floor(publishSpan / speed / ROUND_MS))
    const t0 = performance.now()
    let published = 0
    let publishFailures = 0
    const pending: Array<Promise<unknown>> = []
    const publishAt = clock.now()
    const horizon = Math.max(...windows.flat())
    for (let round = 0; ; round++) {
      const simNow = publishAt + round * ROUND_MS * speed
      if (simNow >= horizon) break
      await clock.until(simNow, new AbortController().signal)
      for (let p = 0; p < pairs; p++) {
        for (const start of windows[p]!) {
          // This window's share for this round, while we are in the slot before it.
          const k = Math.floor((simNow - (start - SLOT_MS)) / (ROUND_MS * speed))
          if (k < 0 || k >= rounds) continue
          const n = Math.floor(perSlot * (k + 1) / rounds) - Math.floor(perSlot * k / rounds)
          for (let i = 0; i < n; i++) pending.push(node.requester.publish(drRequest(m, p, { start, end: start + WINDOW_MS }, QUANTITY_W)).then(() => { published++ }, () => { publishFailures++ }))
        }
      }
    }
    await Promise.all(pending)
    const lastWindowEnd = horizon + WINDOW_MS
    // Everything settles a little after the last window ends; give it until the last deadline.
    await clock.until(lastWindowEnd, new AbortController().signal)
    const acceptedNow = (): number => [...node.book.txs.values()].filter(tx => tx.answer?.record.type === 'grid.acceptance').length
    // How long after its window each settlement may come, in wall ms: from the shortest to the longest.
    const grace = windows.flat().map(start => (settlementExpiry(start + WINDOW_MS, settleMs) - start - WINDOW_MS) / speed)
    const [graceMin, graceMax] = [Math.min(...grace), Math.max(...grace)]
    await waitFor('settlements', () => outcome.settled.length + outcome.disputed.length + outcome.expired.length >= acceptedNow() ? true : undefined, Math.max(20_000, graceMax + 5_000), 100).catch(() => {})
    const tEnd = performance.now()
    const wallS = (tEnd - t0) / 1000
    const settled = outcome.settled.length
    const cpu = {
      requester: (process.cpuUsage(cpu0.requester).user + process.cpuUsage(cpu0.requester).system) / 1000,
      buildings: (await Promise.all(procs.map(async p => await procCpuMs(p.child.pid!)))).map((c, i) => c - cpu0.buildings[i]!)
    }
    const accepted = acceptedNow()
    const rejections = [...node.book.txs.values()].flatMap(tx => tx.answer?.record.type === 'grid.rejection' ? [(tx.answer.record.body as { reason: string }).reason] : [])
    const rejected = rejections.length
    // Offered-load rate: what settled, over the time the offered transactions span.
    const spanS = slots * slotWallS
    const perPair = settled / spanS / pairs
    const lag = summarize(outcome.settledLag)
    say(`published ${published} requests (${publishFailures} refused at publish), ${accepted} commitments accepted, ${rejected} rejected ${JSON.stringify(count(rejections))}; ${settled} settled (countersigned), ${outcome.disputed.length} disputed ${JSON.stringify(count(outcome.disputed))}, ${outcome.expired.length} expired ${JSON.stringify(count(outcome.expired))}`)
    say(`${settled} settled of ${published} offered over ${spanS} s of slots: ${perPair.toFixed(1)} tx/s per pair (offered ${offered}); the run took ${wallS.toFixed(1)} s wall`)
    say(`window end → countersigned at the requester (wall): p50 ${lag.p50.toFixed(0)} ms, p99 ${lag.p99.toFixed(0)} ms (deadline ${graceMin === graceMax ? graceMin.toFixed(0) : `${graceMin.toFixed(0)}–${graceMax.toFixed(0)}`} ms after the window)`)
    const buildingCpu = cpu.buildings.reduce((a, b) => a + b, 0)
    say(`CPU per settled transaction: requester ${(cpu.requester / Math.max(1, settled)).toFixed(2)} ms, building ${(buildingCpu / Math.max(1, settled)).toFixed(2)} ms (both include meter signing and idle timers); CPU used: requester ${(cpu.requester / 1000 / wallS * 100).toFixed(0)} %, buildings ${cpu.buildings.map(c => (c / 1000 / wallS * 100).toFixed(0) + ' %').join(', ')} of a core, over the whole run`)
    const cores = (cpu.requester + buildingCpu) / 1000 / wallS
    return result(name, round(perPair, 1), 'settled tx/s per pair', TARGET_PER_PAIR, null, {
        pairs, speed, perSlot, slots, offeredPerPair: offered, published, publishFailures, accepted, rejected, settled,
        disputed: outcome.disputed.length, expired: outcome.expired.length, wallSeconds: round(wallS, 1),
        settleLagMs: { p50: round(lag.p50, 0), p99: round(lag.p99, 0) },
        cpuMsPerTx: { requester: round(cpu.requester / Math.max(1, settled), 2), buildings: round(buildingCpu / Math.max(1, settled), 2) },
        coresUsed: round(cores, 2)
      })
  } finally {
    for (const p of procs) await stopNode(p, 5_000).catch(() => {})
    await requester?.stop().catch(() => {})
    await sleep(50)
    if (process.env.BENCH_KEEP === '1') {
      m.keep()
      say(`kept the data dirs and logs in ${m.root} (BENCH_KEEP=1)`)
    } else await m.cleanup()
  }
}

function count (xs: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const x of xs) out[x] = (out[x] ?? 0) + 1
  return out
}
