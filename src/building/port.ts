// Wires the simulated building and its signing meter into the provider's BuildingPort.
import type { Logger } from 'pino'
import { readKeyFile } from '../identity/keyfile.js'
import type { NodeDb } from '../log/db.js'
import type { Clock } from '../node/clock.js'
import type { NodeConfig } from '../node/config.js'
import { dataPaths } from '../node/data-dir.js'
import type { BuildingPort } from '../grid/provider.js'
import { BuildingRuntime, type BuildingStatus } from './runtime.js'
import { evaluateDemandResponse } from './evaluate.js'
import { defaultBuildingSpec, parseBuildingSpec } from './spec.js'

export interface RunningBuilding {
  port: BuildingPort
  runtime: BuildingRuntime
  state: () => BuildingStatus
  stop: () => Promise<void>
}

export async function startBuilding (dir: string, config: NodeConfig, clock: Clock, db: NodeDb, logger: Logger): Promise<RunningBuilding> {
  const spec = config.building === undefined ? defaultBuildingSpec() : parseBuildingSpec(config.building)
  const meterKeys = await readKeyFile(dataPaths(dir).meterKey)
  const runtime = await BuildingRuntime.start({ spec, meterKeys, clock, db, meterIntervalMs: config.meterIntervalMs, logger })
  const port: BuildingPort = {
    meterId: runtime.meterId,
    evaluate: (request, committed) => evaluateDemandResponse({
      spec,
      socWh: runtime.state().socWh,
      now: clock.now(),
      window: request.window,
      reductionW: request.quantity.value,
      loadForecastW: t => runtime.loadForecastW(t),
      committed,
      service: request.service
    }),
    dispatch: order => runtime.dispatch(order),
    waitForReading: async (t, signal) => await runtime.waitForReading(t, signal),
    readings: async (from, to) => (await runtime.readings(from, to)).map(r => r.record)
  }
  return { port, runtime, state: () => runtime.state(), stop: async () => await runtime.stop() }
}
