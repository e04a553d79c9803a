// memory: resident memory (VmRSS from /proc/<pid>/status) of real `pairgrid start` node processes
// (spawnNode, the devnet's own launcher): a utility and a building, idle after the mesh formed,
// then while the utility publishes requests as fast as its control API takes them and the
// building commits to each (the dispatch path under load), and after.
import { spawn } from 'node:child_process'
import { spawnNode, stopNode, type NodeProcess } from '../src/cli/devnet/processes.js'
import { scaledClock } from '../src/node/clock.js'
import { BENCH_SIM_START, drParams, provisionBench, windowAnchor } from './cluster.js'
import { sleep, trackChild, waitFor } from './fixtures.js'
import { header, result, say, type BenchOptions, type BenchResult } from './report.js'
import { round } from './stats.js'
import { procCpuMs, procMemMb } from './proc.js'

/** VmRSS of a bare Node process that has loaded nothing: the floor under any node process. */
async function bareNodeMb (): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  trackChild(child)
  try {
    await sleep(500)
    return (await procMemMb(child.pid!)).rss
  } finally {
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}

export async function run ({ quick }: BenchOptions): Promise<BenchResult[]> {
  header('memory', 'resident memory of real node processes, idle and under dispatch load')
  const bare = await bareNodeMb()
  say(`floor: a bare node process (node -e) holds ${bare.toFixed(1)} MB`)
  const idleWaitMs = quick ? 3_000 : 10_000
  const load = quick ? 60 : 300
  const m = await provisionBench(1, 'memory')
  const origin = { wall: Date.now(), sim: BENCH_SIM_START, speed: 1 }
  const clock = scaledClock(origin)
  const procs: NodeProcess[] = []
  try {
    const spawn = async (name: string, bootstrap: string[]): Promise<NodeProcess> => {
      const p = await spawnNode({ name, dir: m.dir(name), bootstrap, clockOrigin: `${origin.wall}:${origin.sim}`, speed: origin.speed })
      trackChild(p.child)
      procs.push(p)
      return p
    }
    const utility = await spawn(m.requester, [])
    const addr = (await utility.control.call<{ addrs: string[] }>('GET', '/v1/status')).addrs[0]!
    const building = await spawn(m.buildings[0]!, [addr])
    const mesh = async (p: NodeProcess): Promise<number> => (await p.control.call<{ marketplaces: Record<string, { meshPeers: number }> }>('GET', '/v1/status')).marketplaces[m.marketplace]?.meshPeers ?? 0
    await waitFor('mesh', async () => (await mesh(utility)) > 0 && (await mesh(building)) > 0 ? true : undefined, 30_000, 100)
    await sleep(idleWaitMs)
    const pids = { utility: utility.child.pid!, building: building.child.pid! }
    const idle = { utility: await procMemMb(pids.utility), building: await procMemMb(pids.building) }
    say(`idle after ${idleWaitMs / 1000} s: utility ${idle.utility.rss.toFixed(1)} MB, building ${idle.building.rss.toFixed(1)} MB (VmRSS)`)

    // Sample both processes while the utility publishes `load` requests back to back.
    const peak = { utility: idle.utility.rss, building: idle.building.rss }
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const [u, b] = await Promise.all([procMemMb(pids.utility), procMemMb(pids.building)])
        peak.utility = Math.max(peak.utility, u.rss)
        peak.building = Math.max(peak.building, b.rss)
        await sleep(50)
      }
    })()
    const anchor = windowAnchor(clock)
    const cpu0 = { utility: await procCpuMs(pids.utility), building: await procCpuMs(pids.building) }
    const t0 = performance.now()
    for (let i = 0; i < load; i++) await utility.control.call('POST', '/v1/requests', drParams(m, anchor, i, 500))
    const publishS = (performance.now() - t0) / 1000
    const accepted = async (): Promise<number> => (await utility.control.call<Array<{ status: string }>>('GET', '/v1/transactions')).filter(t => t.status === 'accepted').length
    let done = 0
    await waitFor('acceptances', async () => { done = await accepted(); return done >= load ? true : undefined }, 60_000, 50).catch(() => {})
    const loadS = (performance.now() - t0) / 1000
    sampling = false
    await sampler
    // CPU per transaction (request → commitment → acceptance), each side, with the control API calls and polling included.
    const cpuPerTx = { utility: (await procCpuMs(pids.utility) - cpu0.utility) / Math.max(1, done), building: (await procCpuMs(pids.building) - cpu0.building) / Math.max(1, done) }
    const after = { utility: await procMemMb(pids.utility), building: await procMemMb(pids.building) }
    say(`under load (${load} requests published in ${publishS.toFixed(1)} s, ${done} accepted after ${loadS.toFixed(1)} s = ${(done / loadS).toFixed(0)} tx/s): peak utility ${peak.utility.toFixed(1)} MB, building ${peak.building.toFixed(1)} MB`)
    say(`CPU per transaction: utility ${cpuPerTx.utility.toFixed(2)} ms (sign + persist request, verify + admit + answer the commitment, control API), building ${cpuPerTx.building.toFixed(2)} ms (verify the gossiped request, arbitrate + plan, sign + persist, stream)`)
    say(`after load: utility ${after.utility.rss.toFixed(1)} MB (high-water ${after.utility.hwm.toFixed(1)}), building ${after.building.rss.toFixed(1)} MB (high-water ${after.building.hwm.toFixed(1)})`)
    const worstIdle = Math.max(idle.utility.rss, idle.building.rss)
    const worstPeak = Math.max(peak.utility, peak.building, after.utility.hwm, after.building.hwm)
    return [
      result('memory', round(worstIdle, 1), 'MB RSS idle', 200, round(bare, 1), { utilityMb: round(idle.utility.rss, 1), buildingMb: round(idle.building.rss, 1), idleSeconds: idleWaitMs / 1000 }),
      result('memory/under-load', round(worstPeak, 1), 'MB RSS peak', 200, round(worstIdle, 1), {
        requests: load, accepted: done, txPerSec: round(done / loadS, 1),
        cpuMsPerTx: { utility: round(cpuPerTx.utility, 2), building: round(cpuPerTx.building, 2) },
        utilityPeakMb: round(Math.max(peak.utility, after.utility.hwm), 1), buildingPeakMb: round(Math.max(peak.building, after.building.hwm), 1),
        utilityAfterMb: round(after.utility.rss, 1), buildingAfterMb: round(after.building.rss, 1)
      })
    ]
  } finally {
    for (const p of procs) await stopNode(p, 5_000).catch(() => {})
    await m.cleanup()
  }
}
