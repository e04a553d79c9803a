// `pairgrid start`: run one node in the foreground until SIGINT/SIGTERM.
import { PairgridNode } from '../node/node.js'
import { ControlServer } from '../node/control.js'
import { controlRoutes } from '../node/routes.js'
import { dataPaths } from '../node/data-dir.js'
import { createLogger, type LogFormat } from '../node/logger.js'
import { scaledClock } from '../node/clock.js'

export interface StartFlags {
  data: string
  listen?: string[]
  bootstrap?: string[]
  speed: number
  clockOrigin?: string
  logFormat: LogFormat
  logLevel: string
}

export function parseClockOrigin (text: string | undefined, speed: number): { wall: number, sim: number, speed: number } {
  if (text === undefined) return { wall: Date.now(), sim: Date.now(), speed }
  const m = /^(\d+):(\d+)$/.exec(text)
  if (m === null) throw new Error('--clock-origin takes WALL_MS:SIM_MS (the wall time at which simulated time was SIM_MS)')
  return { wall: Number(m[1]), sim: Number(m[2]), speed }
}

export async function startCommand (flags: StartFlags): Promise<void> {
  const logger = createLogger('pairgrid', flags.logFormat, flags.logLevel)
  const clock = scaledClock(parseClockOrigin(flags.clockOrigin, flags.speed))
  let node: PairgridNode
  try {
    node = await PairgridNode.start(flags.data, { clock, logger, ...(flags.listen !== undefined ? { listen: flags.listen } : {}), ...(flags.bootstrap !== undefined ? { bootstrap: flags.bootstrap } : {}) })
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'node failed to start')
    logger.flush()
    process.exitCode = 1
    return
  }
  const control = new ControlServer(controlRoutes(node), dataPaths(flags.data).control, dataPaths(flags.data).controlSocket, logger)
  await control.start()
  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping')
    await control.stop()
    await node.stop()
    logger.flush()
    process.exit(0)
  }
  process.on('SIGINT', () => { void stop('SIGINT') })
  process.on('SIGTERM', () => { void stop('SIGTERM') })
}
