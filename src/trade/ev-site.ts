// SIMULATION of an EV charging site's point of common coupling: its own constant draw (`baseW`)
// plus whatever its smart charger is told to draw, integrated by a signing meter with its own key
// in 1-second simulated steps on a wall timer, as the building runtime does. Readings and the
// state they end go to disk in one batch, and a reading is durable before anyone waiting for it
// is told. Stated model for downtime: the meter keeps measuring and the charger stops while the
// node is down, so a restart back-fills the gap at `baseW`.
import { DurableReadings } from '../meter/durable-readings.js'
import type { Logger } from 'pino'
import type { KeyPair } from '../identity/ed25519.js'
import type { NodeDb } from '../log/db.js'
import type { Clock } from '../node/clock.js'
import type { Envelope } from '../records/envelope.js'
import { SigningMeter, type MeterState, type Reading } from '../meter/meter.js'
import { ReadingStore } from '../meter/reading-store.js'
import type { OwnMeter } from './context.js'

const STEP_MS = 1000
const TICK_WALL_MS = 25
const MAX_BATCH = 500

interface Snapshot { v: 'ev-site', meterId: string, meter: MeterState, charger: unknown }

export interface EvSiteOptions {
  meterKeys: KeyPair
  clock: Clock
  db: NodeDb
  meterIntervalMs: number
  baseW: number
  /** The charger's draw over [t, t + 1 s). */
  chargeW: (t: number) => number
  /** The charger controller's state to keep with the meter's (and what it restarts from). */
  chargerState: () => unknown
  logger: Logger
}


export class EvSiteRuntime implements OwnMeter {
  private readonly durable: DurableReadings
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopping = false
  private failure: Error | undefined
  private drawW = 0

  private constructor (private readonly meter: SigningMeter, private readonly store: ReadingStore, private readonly opts: EvSiteOptions) {
    this.durable = new DurableReadings(Math.floor(meter.t / meter.intervalMs) * meter.intervalMs)
  }

  /** Starts the site; also returns the charger state kept at the last stop, for its controller. */
  static async start (opts: EvSiteOptions): Promise<{ site: EvSiteRuntime, chargerState: unknown }> {
    const store = new ReadingStore(opts.db)
    const snap = await store.snapshot() as Snapshot | undefined
    let site: EvSiteRuntime
    if (snap !== undefined) {
      if (snap.v !== 'ev-site' || snap.meterId !== opts.meterKeys.id) throw new Error(`the stored meter state is not this EV site's meter ${opts.meterKeys.id}`)
      site = new EvSiteRuntime(new SigningMeter(opts.meterKeys, snap.meter), store, opts)
      opts.logger.info({ meter: opts.meterKeys.id, from: snap.meter.t, to: opts.clock.now() }, 'EV site restored; back-filling with the charger stopped')
    } else {
      const { meter, reading } = SigningMeter.commission(opts.meterKeys, opts.meterIntervalMs, opts.clock.now())
      site = new EvSiteRuntime(meter, store, opts)
      await store.append([reading], site.snapshot())
      opts.logger.info({ meter: opts.meterKeys.id, t: meter.t }, 'EV site meter commissioned')
    }
    await site.advance(opts.clock.now(), true)
    site.timer = setInterval(() => site.tick(), TICK_WALL_MS)
    return { site, chargerState: snap?.charger }
  }

  get id (): string { return this.meter.id }

  /** The charger's draw at the last step. */
  get chargingW (): number { return this.drawW }

  async readings (from: number, to: number): Promise<Envelope[]> {
    return (await this.store.range(from, to)).map(r => r.record)
  }

  async waitForReading (t: number, signal?: AbortSignal): Promise<void> {
    return await this.durable.wait(t, signal)
  }

  async stop (): Promise<void> {
    this.stopping = true
    clearInterval(this.timer)
    await this.running
    if (this.failure === undefined) await this.store.saveSnapshot(this.snapshot())
    this.durable.close(new Error('EV site stopped'))
  }

  private snapshot (): Snapshot {
    return { v: 'ev-site', meterId: this.meter.id, meter: this.meter.snapshot(), charger: this.opts.chargerState() }
  }

  private tick (): void {
    if (this.running !== undefined || this.stopping) return
    this.running = this.advance(this.opts.clock.now(), false)
      .catch((err: Error) => {
        this.failure = err
        clearInterval(this.timer)
        this.opts.logger.error({ err: err.message }, 'EV site simulation stopped')
        this.durable.close(err)
      })
      .finally(() => { this.running = undefined })
  }

  private async advance (target: number, idle: boolean): Promise<void> {
    const batch: Reading[] = []
    while (!this.stopping) {
      const t = this.meter.t
      const end = (Math.floor(t / STEP_MS) + 1) * STEP_MS
      if (end > target) break
      this.drawW = idle ? 0 : this.opts.chargeW(t)
      const reading = this.meter.integrate(this.opts.baseW + this.drawW, 0, end - t)
      if (reading === undefined) continue
      batch.push(reading)
      if (batch.length >= MAX_BATCH) await this.persist(batch.splice(0))
    }
    if (batch.length > 0) await this.persist(batch)
  }

  private async persist (readings: Reading[]): Promise<void> {
    await this.store.append(readings, this.snapshot())
    this.durable.reached(readings.at(-1)!.record.body.t)
  }
}
