// Wires the simulated building and its signing meter into the provider's BuildingPort.
import type { Logger } from 'pino'
import { readKeyFile } from '../identity/keyfile.js'
import type { NodeDb } from '../log/db.js'
import type { Clock } from '../node/clock.js'
import type { NodeConfig } from '../node/config.js'
import { dataPaths } from '../node/data-dir.js'
import type { BuildingPort } from '../grid/provider.js'
import type { Surface } from '../records/credential-schemas.js'
import type { RequestBody } from '../records/grid-schemas.js'
import { BuildingRuntime, type BuildingStatus } from './runtime.js'
import { evaluate, type Evaluation } from './evaluate.js'
import type { DispatchOrder } from './order.js'
import type { ResponseMeasure } from './responses.js'
import { arbitrate, type ArbitrationCandidate } from './scheduler.js'
import { defaultBuildingSpec, parseBuildingSpec } from './spec.js'
import { servicesOf, surfaceOf } from './surface.js'

/** What the provider needs of a request to evaluate or arbitrate it. */
export type RequestTerms = Pick<RequestBody, 'service' | 'window' | 'quantity'> & Partial<Pick<RequestBody, 'price' | 'issuedAt'>>

/** The provider's port, plus single-request evaluation and the response measures. */
export type BuildingServicesPort = BuildingPort & {
  evaluate: (request: RequestTerms, committed: readonly DispatchOrder[]) => Evaluation
  responses: () => ResponseMeasure[]
}

export interface RunningBuilding {
  port: BuildingServicesPort
  runtime: BuildingRuntime
  state: () => BuildingStatus
  /** the grid-commitment surface and services for the building's admissibility profile */
  surface: () => Surface
  services: () => ReturnType<typeof servicesOf>
  stop: () => Promise<void>
}

/** Arbitration terms of a request: firm unless it is an auction bid (which may lose), its price rate, its issue time. */
export function candidateOf (id: string, r: RequestTerms): ArbitrationCandidate {
  return { id, service: r.service, window: r.window, quantity: r.quantity, rateMinor: r.price?.rate ?? 0, firm: r.price?.mechanism !== 'auction', issuedAt: r.issuedAt ?? 0 }
}

export async function startBuilding (dir: string, config: NodeConfig, clock: Clock, db: NodeDb, logger: Logger): Promise<RunningBuilding> {
  const spec = config.building === undefined ? defaultBuildingSpec() : parseBuildingSpec(config.building)
  const meterKeys = await readKeyFile(dataPaths(dir).meterKey)
  const runtime = await BuildingRuntime.start({ spec, meterKeys, clock, db, meterIntervalMs: config.meterIntervalMs, logger })
  const base = (committed: readonly DispatchOrder[]): Parameters<typeof arbitrate>[1] =>
    ({ spec, state: runtime.state(), now: clock.now(), loadForecastW: t => runtime.loadForecastW(t), committed })
  const port: BuildingServicesPort = {
    meterId: runtime.meterId,
    evaluate: (request, committed) => evaluate({ ...base(committed), service: request.service, window: request.window, quantity: request.quantity }),
    arbitrate: (candidates, committed) => arbitrate(candidates.map(c => candidateOf(c.id, c.request)), base(committed))
      .map(({ id, decision }) => ({ id, evaluation: decision })),
    dispatch: order => runtime.dispatch(order),
    regulate: (orderId, setpointPm) => runtime.regulate(orderId, setpointPm),
    responses: () => runtime.responses(),
    waitForReading: async (t, signal) => await runtime.waitForReading(t, signal),
    readings: async (from, to) => (await runtime.readings(from, to)).map(r => r.record)
  }
  return { port, runtime, state: () => runtime.state(), surface: () => surfaceOf(spec), services: () => servicesOf(spec), stop: async () => await runtime.stop() }
}
