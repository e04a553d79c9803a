// Nodes as real OS processes: spawn `pairgrid start`, wait for its control API, stop it by PID.
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { ControlClient } from '../../node/control-client.js'
import { dataPaths } from '../../node/data-dir.js'
import { cliPath } from '../../node/package-root.js'

export interface NodeProcess {
  name: string
  dir: string
  child: ChildProcess
  control: ControlClient
  exited: Promise<number | null>
}

export interface SpawnOptions {
  name: string
  dir: string
  bootstrap: string[]
  clockOrigin: string
  speed: number
  logLevel?: string
  /** Extra environment (tests arm PAIRGRID_CRASH_AT with it). */
  env?: Record<string, string>
  /** Listen address (default: a free port on 127.0.0.1). */
  listen?: string
  /** Command prefix, e.g. ['ip', 'netns', 'exec', 'ns1'] to run the node in a network namespace. */
  wrap?: string[]
  /** Options for node itself, e.g. ['--cpu-prof'] (benchmarks profile nodes with it). */
  nodeArgs?: string[]
}

export async function spawnNode (opts: SpawnOptions): Promise<NodeProcess> {
  const paths = dataPaths(opts.dir)
  const out = openSync(paths.log, 'a')
  const args = [cliPath(), 'start', '--data', opts.dir, '--listen', opts.listen ?? '/ip4/127.0.0.1/tcp/0', '--clock-origin', opts.clockOrigin, '--speed', String(opts.speed), '--log-level', opts.logLevel ?? 'info']
  for (const b of opts.bootstrap) args.push('--bootstrap', b)
  const [command, ...prefix] = [...(opts.wrap ?? []), process.execPath]
  const child = spawn(command!, [...prefix, ...(opts.nodeArgs ?? []), ...args], { stdio: ['ignore', out, out], env: { ...process.env, FORCE_COLOR: '0', ...opts.env } })
  closeSync(out)
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const control = await waitForControl(opts.dir, child, exited)
  return { name: opts.name, dir: opts.dir, child, control, exited }
}

async function waitForControl (dir: string, child: ChildProcess, exited: Promise<number | null>): Promise<ControlClient> {
  let dead = false
  void exited.then(() => { dead = true })
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (dead) throw new Error(`node in ${dir} exited during start (exit ${String(child.exitCode)}); see ${dataPaths(dir).log}`)
    try {
      const client = await ControlClient.forDataDir(dir)
      if (client.pid === child.pid) {
        await client.call('GET', '/v1/status')
        return client
      }
    } catch { /* not up yet */ }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`node in ${dir} did not open its control API within 30 s; see ${dataPaths(dir).log}`)
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopNode (p: NodeProcess, graceMs = 10_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return
  p.child.kill('SIGTERM')
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs)
  await p.exited
  clearTimeout(timer)
}

export async function killNode (p: NodeProcess): Promise<void> {
  p.child.kill('SIGKILL')
  await p.exited
}
