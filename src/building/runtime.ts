// SIMULATION driver of one building: advances the plant (controller.ts) and the meter in 1-second
// simulated steps, cut where a window opens or closes or a regulation setpoint arrives, up to the
// clock, on a wall timer. Readings are written in batches, each with the state the last of them
// ends, and a reading is on disk before anyone waiting for it is told.
//
// Stated model for downtime: the meter is a separate device that keeps measuring while the node
// is down, and the inverter falls back to idle when its controller is gone (the HVAC and EV
// chargers run on their own). So a restart back-fills the gap from the last snapshot with no
// order in effect. Dispatch orders live in memory only; the caller re-issues them after a restart.
import { DurableReadings } from '../meter/durable-readings.js'
import type { Logger } from 'pino'
import type { KeyPair } from '../identity/ed25519.js'
import type { NodeDb } from '../log/db.js'
import type { Clock } from '../node/clock.js'
import type { ReadingBody } from '../records/meter-schemas.js'
import type { Window } from '../records/common-schemas.js'
import { averageW, netImportVarh, netImportWh } from '../market/registers.js'
import { SigningMeter, type MeterState, type Reading } from '../meter/meter.js'
import { ReadingStore } from '../meter/reading-store.js'
import { controlStep, type OrderInEffect, type StepOutcome } from './controller.js'
import { GridConditions } from './grid-conditions.js'
import { LoadProfile } from './load-profile.js'
import { actionStart, activeAt, orderProblem, quantityOf, type DispatchOrder } from './order.js'
import type { PlanState } from './plan.js'
import { Plant, type PlantState } from './plant.js'
import { RESPONSE_TOLERANCE, ResponseLog, reachedAt, type ResponseMeasure } from './responses.js'
import { parseBuildingSpec, type BuildingSpec } from './spec.js'
import type { HvacState } from './hvac.js'
import type { EvState } from './ev-charger.js'

export type { DispatchOrder } from './order.js'
export type { ResponseMeasure } from './responses.js'

export const STEP_MS = 1000
const MS_PER_H = 3_600_000
const TICK_WALL_MS = 25
/** Readings per durable write at most, so a long back-fill still reaches disk as it goes. */
const MAX_BATCH = 500

export interface RackStatus { id: string, socWh: number, floorWh: number, ceilingWh: number, peakUsedMs: number }

export interface BuildingStatus extends PlanState {
  t: number
  /** all racks */
  socWh: number
  /** energy that may still be sold: above the floors and the own-load reserve */
  availableWh: number
  /** own net load at the last step: rest + HVAC + EV − PV, after curtailment */
  loadW: number
  racks: RackStatus[]
  hvac: Array<{ id: string } & HvacState>
  ev: Array<{ id: string } & EvState>
  inverter: { pW: number, qVar: number }
  /** baselines fixed at the start of the windows in effect */
  baselines: Record<string, { w?: number, var?: number }>
}

export interface BuildingRuntimeOptions {
  spec: BuildingSpec
  meterKeys: KeyPair
  clock: Clock
  db: NodeDb
  meterIntervalMs: number
  logger?: Logger
}

interface Snapshot { v: 2, meterId: string, meter: MeterState, plant: PlantState }
/** The single-battery model's snapshot: its meter continues, its plant starts from the spec. */
interface SnapshotV1 { v: 1, meterId: string, meter: MeterState }

/** Meter-before-event average import over the window's length before it (W, var). */
interface Baseline { w?: number, var?: number }

interface RunningOrder {
  order: DispatchOrder
  dispatchedWall: number
  /** fixed at window start; null when the meter history cannot give it */
  baseline?: Baseline | null
  /** regulation setpoints received and not yet in force, by simulated receipt time */
  setpoints: Array<{ t: number, pm: number }>
  setpointPm: number
  /** demand response: energy its window is short of its reduction so far (negative: ahead) */
  shortWh: number
  measure: ResponseMeasure
  /** simulated time since which a response is awaited */
  awaiting?: number
}


export class BuildingRuntime {
  private readonly orders = new Map<string, RunningOrder>()
  private readonly responseLog = new ResponseLog()
  private readonly grid = new GridConditions()
  private readonly durable: DurableReadings
  private loadW = 0
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
    this.durable = new DurableReadings(Math.floor(meter.t / meter.intervalMs) * meter.intervalMs)
  }

  static async start (opts: BuildingRuntimeOptions): Promise<BuildingRuntime> {
    const spec = parseBuildingSpec(opts.spec)
    const { meterKeys, clock, meterIntervalMs } = opts
    if (!Number.isInteger(meterIntervalMs) || meterIntervalMs % STEP_MS !== 0 || meterIntervalMs <= 0) throw new Error(`meter interval must be a positive multiple of ${STEP_MS} ms, got ${meterIntervalMs}`)
    const load = spec.loadProfilePath !== undefined
      ? await LoadProfile.fromFile(spec.loadProfilePath, { scale: spec.loadScale })
      : await LoadProfile.default({ scale: spec.loadScale })
    const rest = (t: number): number => load.powerW(t)
    const store = new ReadingStore(opts.db)
    const snap = await store.snapshot() as Snapshot | SnapshotV1 | undefined
    let rt: BuildingRuntime
    if (snap !== undefined) {
      if (snap.meterId !== meterKeys.id) throw new Error(`the stored meter state belongs to meter ${snap.meterId}, not ${meterKeys.id}`)
      if (snap.meter.intervalMs !== meterIntervalMs) throw new Error(`the stored meter runs ${snap.meter.intervalMs} ms intervals, not ${meterIntervalMs}`)
      // The inverter is idle after a restart: its state is not restored.
      const plant = snap.v === 2 ? new Plant(spec, rest, { ...snap.plant, inverter: undefined }) : new Plant(spec, rest)
      if (snap.v !== 2) opts.logger?.warn({ v: snap.v }, 'plant snapshot from an older building model: the racks start from the spec, the meter continues')
      rt = new BuildingRuntime(spec, plant, new SigningMeter(meterKeys, snap.meter), store, clock, opts.logger)
      opts.logger?.info({ meter: meterKeys.id, from: snap.meter.t, to: clock.now() }, 'building restored; back-filling with no order in effect')
    } else {
      const { meter, reading } = SigningMeter.commission(meterKeys, meterIntervalMs, clock.now())
      rt = new BuildingRuntime(spec, new Plant(spec, rest), meter, store, clock, opts.logger)
      await store.append([reading], rt.snapshot())
      opts.logger?.info({ meter: meterKeys.id, t: meter.t }, 'meter commissioned')
    }
    await rt.advance(clock.now(), true)
    rt.timer = setInterval(() => rt.tick(), TICK_WALL_MS)
    return rt
  }

  get meterId (): string { return this.meter.id }

  /** Forecast of the rest of the own load (the profile), for evaluating requests; the spec models HVAC, EV and PV. */
  loadForecastW (t: number): number { return this.plant.restLoadW(t) }

  /** Executes an order in its window; replaces an order of the same id. */
  dispatch (order: DispatchOrder): void {
    const problem = orderProblem(order, this.spec)
    if (problem !== undefined) throw new Error(problem)
    this.orders.set(order.id, { order, dispatchedWall: Date.now(), setpoints: [], setpointPm: 0, shortWh: 0, measure: this.responseLog.open(order.id, order.service) })
    this.logger?.info({ order: order.id, service: order.service, window: order.window, quantity: quantityOf(order), elements: order.elements }, 'dispatch order accepted')
  }

  /**
   * The latest regulation setpoint of a frequency-regulation order, per mille of its capacity
   * (positive = the building injects / reduces import). It is in force from the simulated moment
   * it is received; the plant model ramps toward it from there.
   */
  regulate (orderId: string, setpointPm: number): void {
    const received = performance.now()
    if (!Number.isInteger(setpointPm) || Math.abs(setpointPm) > 1000) throw new Error(`regulation setpoint must be an integer per mille within ±1000, got ${setpointPm}`)
    const o = this.orders.get(orderId)
    if (o === undefined || o.order.service !== 'frequency-regulation') throw new Error(`no frequency-regulation order ${orderId} is dispatched`)
    o.setpoints.push({ t: Math.max(this.clock.now(), this.meter.t, o.setpoints.at(-1)?.t ?? 0), pm: setpointPm })
    o.measure.wallMs = Math.max(o.measure.wallMs ?? 0, performance.now() - received)
    this.tick()
  }

  cancel (id: string): boolean { return this.orders.delete(id) }

  /** Response measures of the last orders, oldest first. */
  responses (): ResponseMeasure[] { return this.responseLog.list() }

  async readings (from: number, to: number): Promise<Reading[]> { return await this.store.range(from, to) }

  /** Resolves once the reading closing at `t` is durable; rejects on stop, failure or abort. */
  async waitForReading (t: number, signal?: AbortSignal): Promise<void> {
    return await this.durable.wait(t, signal)
  }

  state (): BuildingStatus {
    const p = this.plant
    const racks = p.racks.map(r => ({ id: r.id, socWh: r.socWh, floorWh: r.floorWh, ceilingWh: r.ceilingWh, peakUsedMs: r.snapshot().peakUsedMs }))
    const baselines: BuildingStatus['baselines'] = {}
    for (const [id, o] of this.orders) if (o.baseline !== undefined && o.baseline !== null) baselines[id] = { ...o.baseline }
    return {
      t: this.meter.t,
      socWh: racks.reduce((s, r) => s + r.socWh, 0),
      availableWh: Math.max(0, p.storedAboveFloorWh() - this.spec.reserveWh),
      loadW: this.loadW,
      racks,
      hvac: p.hvac.map(h => ({ id: h.id, ...h.snapshot() })),
      ev: p.ev.map(e => ({ id: e.id, ...e.snapshot() })),
      inverter: { pW: p.inverter.pW, qVar: p.inverter.qVar },
      baselines
    }
  }

  async stop (): Promise<void> {
    this.stopping = true
    clearInterval(this.timer)
    await this.running
    // A clean stop keeps the partial interval; after a crash it is re-simulated idle.
    if (this.failure === undefined) await this.store.saveSnapshot(this.snapshot())
    this.durable.close(new Error('building runtime stopped'))
  }

  private snapshot (): Snapshot {
    return { v: 2, meterId: this.meter.id, meter: this.meter.snapshot(), plant: this.plant.snapshot() }
  }

  private tick (): void {
    if (this.running !== undefined || this.stopping) return
    this.running = this.advance(this.clock.now(), false)
      .catch((err: Error) => {
        this.failure = err
        clearInterval(this.timer)
        this.logger?.error({ err: err.message }, 'building simulation stopped')
        this.durable.close(err)
      })
      .finally(() => { this.running = undefined })
  }

  private async advance (target: number, idle: boolean): Promise<void> {
    const batch: Reading[] = []
    let snap: Snapshot | undefined
    while (!this.stopping) {
      const t = this.meter.t
      const end = this.stepEnd(t, idle)
      if (end > target) break
      const inEffect = idle ? [] : await this.inEffect(t, batch)
      const voltagePu1000 = inEffect.some(o => o.order.service === 'voltage-support') ? this.grid.at(end).voltagePu : 1000
      const out = controlStep(this.plant, { t, dtMs: end - t, voltagePu1000, orders: inEffect })
      this.loadW = out.ownLoadW
      if (!idle) this.observe(t, end - t, inEffect, out)
      const reading = this.meter.integrate(out.pccW, out.pccVar, end - t)
      if (reading === undefined) continue
      batch.push(reading)
      snap = this.snapshot()
      if (batch.length >= MAX_BATCH) await this.persist(batch.splice(0), snap)
    }
    if (batch.length > 0) await this.persist(batch, snap!)
  }

  private async persist (readings: Reading[], snap: Snapshot): Promise<void> {
    await this.store.append(readings, snap)
    this.durable.reached(readings.at(-1)!.record.body.t)
  }

  /** The next step ends at the next whole second, or earlier where a window edge or a setpoint falls. */
  private stepEnd (t: number, idle: boolean): number {
    let end = (Math.floor(t / STEP_MS) + 1) * STEP_MS
    if (idle) return end
    for (const o of this.orders.values()) {
      for (const e of [actionStart(o.order, this.spec), o.order.window.start, o.order.window.end, o.setpoints[0]?.t ?? Infinity]) if (e > t && e < end) end = e
    }
    return end
  }

  /** Orders in effect at `t`, with their baselines fixed and their latest setpoints applied. */
  private async inEffect (t: number, batch: readonly Reading[]): Promise<OrderInEffect[]> {
    const out: OrderInEffect[] = []
    // Orders over one window share its baseline span: hundreds can open at once, read it once.
    const spans = new Map<string, Promise<Baseline | null>>()
    const baselineOf = async (w: Window): Promise<Baseline | null> => {
      const key = `${w.start} ${w.end}`
      let shared = spans.get(key)
      if (shared === undefined) spans.set(key, shared = this.baseline(w, batch))
      return await shared
    }
    for (const [id, o] of this.orders) {
      const { end } = o.order.window
      const start = actionStart(o.order, this.spec)
      if (t >= end) {
        if (o.awaiting !== undefined) o.measure.unreached++
        this.orders.delete(id)
        continue
      }
      if (t < start) continue
      if (o.baseline === undefined) {
        // Peak shaving needs no baseline.
        o.baseline = o.order.service === 'peak-shaving' ? {} : await baselineOf(o.order.window)
        if (o.baseline === null) this.logger?.warn({ order: o.order.id, from: 2 * o.order.window.start - o.order.window.end, to: o.order.window.start }, 'no meter readings for the baseline span: order not executed')
        else {
          this.logger?.info({ order: o.order.id, baselineW: o.baseline.w, baselineVar: o.baseline.var }, 'baseline fixed at window start')
          this.due(o, t)
        }
      }
      if (o.baseline === null) continue
      while (o.setpoints.length > 0 && o.setpoints[0]!.t <= t) {
        const s = o.setpoints.shift()!
        if (o.awaiting !== undefined && s.pm !== o.setpointPm) o.measure.unreached++
        if (o.awaiting === undefined || s.pm !== o.setpointPm) o.awaiting = Math.max(s.t, start)
        o.setpointPm = s.pm
      }
      const makeUpW = o.order.service === 'demand-response' ? Math.min(o.order.reductionW, Math.max(0, o.shortWh) * MS_PER_H / (end - t)) : 0
      out.push({ order: o.order, baselineW: o.baseline.w, baselineVar: o.baseline.var, setpointPm: o.setpointPm, makeUpW })
    }
    return out
  }

  /**
   * The order's first step, at `t`: its software-path latency, and a physical response awaited
   * from then (an order re-issued after a restart starts late, not slowly).
   */
  private due (o: RunningOrder, t: number): void {
    const start = actionStart(o.order, this.spec)
    const wall = Date.now()
    const wallAtStart = wall - (this.clock.now() - start) / this.clock.speed
    o.measure.wallMs = Math.max(o.measure.wallMs ?? 0, wall - Math.max(o.dispatchedWall, wallAtStart))
    o.awaiting = Math.max(start, t)
  }

  /** Meter-before-event baselines (W and var) of a window, at its start. */
  private async baseline (window: Window, batch: readonly Reading[]): Promise<Baseline | null> {
    const d = window.end - window.start
    const a = await this.readingAt(window.start - d, batch)
    const b = await this.readingAt(window.start, batch)
    if (a === undefined || b === undefined) return null
    return { w: Number(averageW(netImportWh(a, b), d)), var: Number(averageW(netImportVarh(a, b), d)) }
  }

  private async readingAt (t: number, batch: readonly Reading[]): Promise<ReadingBody | undefined> {
    return batch.find(r => r.record.body.t === t)?.record.body ?? (await this.store.range(t, t))[0]?.record.body
  }

  /**
   * Books each demand-response window's shortfall, and marks responses reached in this step at
   * the first probed instant the PCC is within tolerance.
   */
  private observe (t: number, dtMs: number, inEffect: readonly OrderInEffect[], out: StepOutcome): void {
    for (const e of inEffect) {
      if (e.order.service !== 'demand-response' || e.baselineW === undefined) continue
      this.orders.get(e.order.id)!.shortWh += (out.pccW - (e.baselineW - e.order.reductionW)) * dtMs / MS_PER_H
    }
    for (const o of this.orders.values()) {
      if (o.awaiting === undefined || !activeAt(o.order, this.spec, t) || o.baseline === null || o.baseline === undefined) continue
      const tol = RESPONSE_TOLERANCE * quantityOf(o.order)
      const { targetW, targetVar } = out
      let within: ((offsetMs: number) => boolean) | undefined
      switch (o.order.service) {
        case 'demand-response':
        case 'peak-shaving':
          if (targetW !== undefined) within = off => out.pccAt(off) <= targetW + tol
          break
        case 'frequency-regulation':
          if (targetW !== undefined) within = off => Math.abs(out.pccAt(off) - targetW) <= tol
          break
        case 'voltage-support':
        case 'reactive-power':
          if (targetVar !== undefined) within = off => Math.abs(out.varAt(off) - targetVar) <= tol
      }
      const at = within === undefined ? undefined : reachedAt(t, dtMs, within)
      if (at === undefined) continue
      o.measure.physicalMs = Math.max(o.measure.physicalMs ?? 0, at - o.awaiting)
      o.measure.samples++
      o.awaiting = undefined
    }
  }

}
