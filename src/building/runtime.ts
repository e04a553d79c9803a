// SIMULATION driver of one building: advances load + battery + meter in 1-second simulated steps
// up to the clock, on a wall timer fast enough for ~600x speed. Each meter reading is on disk,
// together with the state it ends, before the next one is produced.
//
// Stated model for downtime: the meter is a separate device that keeps measuring while the node
// is down, and the inverter falls back to idle when its controller is gone. So a restart
// back-fills the gap from the last snapshot with the battery idle. Dispatch orders live in
// memory only; the caller re-issues them after a restart.
import type { Logger } from 'pino'
import type { KeyPair } from '../identity/ed25519.js'
import type { NodeDb } from '../log/db.js'
import type { Clock } from '../node/clock.js'
import type { Window } from '../records/common-schemas.js'
import { drBaselineW, drTelemetrySpan } from '../market/dr-mbe.js'
import { SigningMeter, type MeterState, type Reading } from '../meter/meter.js'
import { ReadingStore } from '../meter/reading-store.js'
import { Battery, type BatteryState } from './battery.js'
import { LoadProfile } from './load-profile.js'
import { Plant, type PlantStep } from './plant.js'
import { parseBuildingSpec, type BuildingSpec } from './spec.js'

export const STEP_MS = 1000
const TICK_WALL_MS = 25

export interface DispatchOrder { id: string, service: 'demand-response', window: Window, reductionW: number }

export interface BuildingStatus { t: number, socWh: number, availableWh: number, loadW: number }

/**
 * For the most recent order: `physicalMs` is simulated ms from window start to the end of the
 * first step whose net import reached the target (the battery model has no ramp limit, so this is
 * the 1-s step resolution); `wallMs` is wall ms from the later of the dispatch() call and the
 * window start to the step that applied the setpoint (the controller's own latency).
 */
export interface ResponseMeasure { orderId: string, physicalMs?: number, wallMs?: number }

export interface BuildingRuntimeOptions {
  spec: BuildingSpec
  meterKeys: KeyPair
  clock: Clock
  db: NodeDb
  meterIntervalMs: number
  logger?: Logger
}

interface Snapshot { v: 1, meterId: string, meter: MeterState, battery: BatteryState }

interface ActiveOrder {
  order: DispatchOrder
  dispatchedWall: number
  /** computed once at window start; null when the meter history cannot give it */
  baselineW?: number | null
}

interface Waiter { t: number, resolve: () => void, reject: (err: Error) => void }

export class BuildingRuntime {
  lastResponse: ResponseMeasure | undefined
  private readonly orders = new Map<string, ActiveOrder>()
  private waiters: Waiter[] = []
  private durableT: number
  private loadW: number
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopping = false
  private failure: Error | undefined

  private constructor (
    readonly spec: BuildingSpec,
    private readonly plant: Plant,
    private readonly meter: SigningMeter,
    private readonly store: ReadingStore,
    private readonly clock: Clock,
    private readonly logger?: Logger
  ) {
    this.durableT = Math.floor(meter.t / meter.intervalMs) * meter.intervalMs
    this.loadW = plant.loadW(meter.t, STEP_MS)
  }

  static async start (opts: BuildingRuntimeOptions): Promise<BuildingRuntime> {
    const spec = parseBuildingSpec(opts.spec)
    const { meterKeys, clock, meterIntervalMs } = opts
    if (!Number.isInteger(meterIntervalMs) || meterIntervalMs % STEP_MS !== 0 || meterIntervalMs <= 0) throw new Error(`meter interval must be a positive multiple of ${STEP_MS} ms, got ${meterIntervalMs}`)
    const load = spec.loadProfilePath !== undefined
      ? await LoadProfile.fromFile(spec.loadProfilePath, { scale: spec.loadScale })
      : await LoadProfile.default({ scale: spec.loadScale })
    const store = new ReadingStore(opts.db)
    const snap = await store.snapshot() as Snapshot | undefined
    let rt: BuildingRuntime
    if (snap !== undefined) {
      if (snap.meterId !== meterKeys.id) throw new Error(`the stored meter state belongs to meter ${snap.meterId}, not ${meterKeys.id}`)
      if (snap.meter.intervalMs !== meterIntervalMs) throw new Error(`the stored meter runs ${snap.meter.intervalMs} ms intervals, not ${meterIntervalMs}`)
      const plant = new Plant(load, new Battery(spec.battery, snap.battery))
      rt = new BuildingRuntime(spec, plant, new SigningMeter(meterKeys, snap.meter), store, clock, opts.logger)
      opts.logger?.info({ meter: meterKeys.id, from: snap.meter.t, to: clock.now() }, 'building restored; back-filling with the battery idle')
    } else {
      const { meter, reading } = SigningMeter.commission(meterKeys, meterIntervalMs, clock.now())
      rt = new BuildingRuntime(spec, new Plant(load, new Battery(spec.battery)), meter, store, clock, opts.logger)
      await store.append(reading, rt.snapshot())
      opts.logger?.info({ meter: meterKeys.id, t: meter.t }, 'meter commissioned')
    }
    await rt.advance(clock.now(), true)
    rt.timer = setInterval(() => rt.tick(), TICK_WALL_MS)
    return rt
  }

  get meterId (): string { return this.meter.id }

  /** Forecast of the building's own load (the profile), for evaluating requests. */
  loadForecastW (t: number): number { return this.plant.load.powerW(t) }

  /** Executes an order in its window; replaces an order of the same id. */
  dispatch (order: DispatchOrder): void {
    if (order.service !== 'demand-response') throw new Error(`the building controller does not execute ${String(order.service)}`)
    if (!(order.window.end > order.window.start)) throw new Error(`order ${order.id}: window end must be after start`)
    if (!(Number.isFinite(order.reductionW) && order.reductionW > 0)) throw new Error(`order ${order.id}: reductionW must be positive`)
    this.orders.set(order.id, { order, dispatchedWall: Date.now() })
    this.lastResponse = { orderId: order.id }
    this.logger?.info({ order: order.id, window: order.window, reductionW: order.reductionW }, 'dispatch order accepted')
  }

  cancel (id: string): boolean { return this.orders.delete(id) }

  async readings (from: number, to: number): Promise<Reading[]> { return await this.store.range(from, to) }

  /** Resolves once the reading closing at `t` is durable; rejects on stop, failure or abort. */
  async waitForReading (t: number, signal?: AbortSignal): Promise<void> {
    if (this.durableT >= t) return
    if (this.failure !== undefined) throw this.failure
    if (this.stopping) throw new Error('building runtime stopped')
    signal?.throwIfAborted()
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    const waiter: Waiter = { t, resolve, reject }
    this.waiters.push(waiter)
    const abort = (): void => {
      this.waiters = this.waiters.filter(w => w !== waiter)
      reject(signal?.reason as Error)
    }
    signal?.addEventListener('abort', abort, { once: true })
    try {
      await promise
    } finally {
      signal?.removeEventListener('abort', abort)
    }
  }

  state (): BuildingStatus {
    const b = this.plant.battery
    return { t: this.meter.t, socWh: b.socWh, availableWh: b.availableWh, loadW: this.loadW }
  }

  async stop (): Promise<void> {
    this.stopping = true
    clearInterval(this.timer)
    await this.running
    // A clean stop keeps the partial interval; after a crash it is re-simulated idle.
    if (this.failure === undefined) await this.store.saveSnapshot(this.snapshot())
    this.rejectWaiters(new Error('building runtime stopped'))
  }

  private snapshot (): Snapshot {
    return { v: 1, meterId: this.meter.id, meter: this.meter.snapshot(), battery: this.plant.battery.snapshot() }
  }

  private tick (): void {
    if (this.running !== undefined || this.stopping) return
    this.running = this.advance(this.clock.now(), false)
      .catch((err: Error) => {
        this.failure = err
        clearInterval(this.timer)
        this.logger?.error({ err: err.message }, 'building simulation stopped')
        this.rejectWaiters(err)
      })
      .finally(() => { this.running = undefined })
  }

  private async advance (target: number, idle: boolean): Promise<void> {
    while (!this.stopping && this.meter.t + STEP_MS <= target) {
      const t = this.meter.t
      const control = idle ? { setpointW: 0 } : await this.control(t)
      const step = this.plant.step(t, STEP_MS, control.setpointW)
      this.loadW = step.loadW
      if (control.targetW !== undefined) this.observe(t, control.targetW, step)
      const reading = this.meter.integrate(step.pccW, step.pccVar, STEP_MS)
      if (reading !== undefined) {
        await this.store.append(reading, this.snapshot())
        this.durableT = reading.record.body.t
        const due = this.waiters.filter(w => w.t <= this.durableT)
        this.waiters = this.waiters.filter(w => w.t > this.durableT)
        for (const w of due) w.resolve()
      }
    }
  }

  /**
   * One net-import target for all active orders: the lowest of their baselines less the sum of
   * their reductions, so each order's settlement sees at least its own reduction.
   */
  private async control (t: number): Promise<{ setpointW: number, targetW?: number }> {
    let lowest = Infinity
    let reductionW = 0
    for (const [id, o] of this.orders) {
      const { start, end } = o.order.window
      if (t >= end) this.orders.delete(id)
      if (t < start || t >= end) continue
      if (o.baselineW === undefined) o.baselineW = await this.baseline(o.order)
      if (o.baselineW === null) continue
      lowest = Math.min(lowest, o.baselineW)
      reductionW += o.order.reductionW
    }
    if (reductionW === 0) return { setpointW: 0 }
    const targetW = lowest - reductionW
    const setpointW = Math.min(this.spec.battery.maxDischargeW, Math.max(0, this.plant.loadW(t, STEP_MS) - targetW))
    return { setpointW, targetW }
  }

  private async baseline (order: DispatchOrder): Promise<number | null> {
    const span = drTelemetrySpan(order.window)
    const readings = await this.store.range(span.from, order.window.start)
    const w = drBaselineW(readings.map(r => r.record.body), order.window)
    if (w === undefined) {
      this.logger?.warn({ order: order.id, from: span.from, to: order.window.start }, 'no meter readings for the baseline span: order not executed')
      return null
    }
    this.logger?.info({ order: order.id, baselineW: Number(w) }, 'baseline fixed at window start')
    return Number(w)
  }

  private observe (t: number, targetW: number, step: PlantStep): void {
    const r = this.lastResponse
    const o = r === undefined ? undefined : this.orders.get(r.orderId)
    if (r === undefined || o === undefined || typeof o.baselineW !== 'number' || t < o.order.window.start) return
    if (r.wallMs === undefined) {
      const wall = Date.now()
      const wallAtStart = wall - (this.clock.now() - o.order.window.start) / this.clock.speed
      r.wallMs = Math.max(0, wall - Math.max(o.dispatchedWall, wallAtStart))
    }
    // 1 W slack: the target is a float, the step is exact otherwise.
    if (r.physicalMs === undefined && step.pccW <= targetW + 1) r.physicalMs = t + STEP_MS - o.order.window.start
  }

  private rejectWaiters (err: Error): void {
    for (const w of this.waiters) w.reject(err)
    this.waiters = []
  }
}
