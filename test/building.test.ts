import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import fc from 'fast-check'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LoadProfile } from '../src/building/load-profile.js'
import { Battery, PEAK_RECOVERY_MS } from '../src/building/battery.js'
import { defaultBuildingSpec, parseBuildingSpec } from '../src/building/spec.js'
import { evaluateDemandResponse, type DrEvaluationInput } from '../src/building/evaluate.js'
import { BuildingRuntime, STEP_MS } from '../src/building/runtime.js'
import { SigningMeter, type Reading } from '../src/meter/meter.js'
import { generateKeyPair } from '../src/identity/keyfile.js'
import { verifyRecord } from '../src/records/envelope.js'
import { openDb, type NodeDb } from '../src/log/db.js'
import { scaledClock } from '../src/node/clock.js'
import { drOutcome, drTelemetrySpan } from '../src/market/dr-mbe.js'

const H = 3_600_000
const MIN = 60_000
const DAY0 = Date.UTC(2026, 5, 10)

describe('load profile', () => {
  const csv = 'time,kW\n00:00,10\n12:00,20\n'

  it('interpolates linearly by UTC time of day, wraps at midnight and scales', () => {
    const p = LoadProfile.parseCsv(csv)
    expect(p.powerW(DAY0 + 6 * H)).toBeCloseTo(15_000)
    expect(p.powerW(DAY0 + 12 * H)).toBeCloseTo(20_000)
    expect(p.powerW(DAY0 + 18 * H)).toBeCloseTo(15_000)
    expect(p.powerW(DAY0 + 24 * H - 1)).toBeCloseTo(10_000)
    expect(p.powerW(DAY0 + 3 * 24 * H + 6 * H)).toBeCloseTo(15_000)
    expect(LoadProfile.parseCsv(csv, { scale: 2.5 }).powerW(DAY0 + 6 * H)).toBeCloseTo(37_500)
  })

  it('refuses bad CSV naming the line', () => {
    expect(() => LoadProfile.parseCsv('when,kW\n00:00,1')).toThrow(/line 1/)
    expect(() => LoadProfile.parseCsv('time,kW\n00:00,1\n00:00,2')).toThrow(/line 3.*after/)
    expect(() => LoadProfile.parseCsv('time,kW\n00:00,1\n01:00,-2')).toThrow(/line 3.*>= 0/)
    expect(() => LoadProfile.parseCsv('time,kW\n00:00,abc')).toThrow(/line 2/)
    expect(() => LoadProfile.parseCsv('time,kW\n25:00,1')).toThrow(/line 2.*HH:MM/)
    expect(() => LoadProfile.parseCsv('time,kW\n00:00,1,2')).toThrow(/line 2/)
  })

  it('ships a default office profile of 96 quarter hours', async () => {
    const p = await LoadProfile.default()
    expect(p.size).toBe(96)
    const at = (h: number): number => p.powerW(DAY0 + h * H) / 1000
    expect(at(3)).toBeGreaterThanOrEqual(35)
    expect(at(3)).toBeLessThanOrEqual(45)
    expect(at(12)).toBeGreaterThanOrEqual(120)
    expect(at(15)).toBeGreaterThan(at(12))
    expect(at(15)).toBeLessThanOrEqual(140)
  })
})

describe('building spec', () => {
  it('accepts the default and refuses values outside the seed ranges', () => {
    expect(parseBuildingSpec(defaultBuildingSpec())).toEqual(defaultBuildingSpec())
    const bad = (mutate: (s: ReturnType<typeof defaultBuildingSpec>) => void): () => void => () => {
      const s = defaultBuildingSpec()
      mutate(s)
      parseBuildingSpec(s)
    }
    expect(bad(s => { s.battery.capacityWh = 40_000 })).toThrow(/capacityWh/)
    expect(bad(s => { s.battery.maxDischargeW = 300_000 })).toThrow(/maxDischargeW/)
    expect(bad(s => { s.battery.peakDischargeW = 250_000 })).toThrow(/peakDischargeW/)
    expect(bad(s => { s.battery.socFloorPm = 960 })).toThrow(/socFloorPm/)
  })
})

describe('battery', () => {
  const spec = defaultBuildingSpec().battery

  it('never leaves floor..ceiling and never exceeds its power limits', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ w: fc.double({ min: -400_000, max: 400_000, noNaN: true }), dtMs: fc.integer({ min: 1, max: 4 * H }) }), { maxLength: 200 }),
      fc.integer({ min: spec.socFloorPm, max: spec.socCeilingPm }),
      (steps, initialSocPm) => {
        const b = new Battery({ ...spec, initialSocPm })
        for (const { w, dtMs } of steps) {
          const got = b.step(w, dtMs)
          expect(got).toBeLessThanOrEqual(spec.peakDischargeW)
          expect(got).toBeGreaterThanOrEqual(-spec.maxChargeW)
          expect(b.socWh).toBeGreaterThanOrEqual(b.floorWh)
          expect(b.socWh).toBeLessThanOrEqual(b.ceilingWh)
        }
      }
    ))
  })

  it('books efficiency each way: 10 kW for an hour moves 10/0.95 kWh out and 9.5 kWh in', () => {
    const b = new Battery(spec)
    const soc0 = b.socWh
    for (let i = 0; i < 3600; i++) expect(b.step(10_000, 1000)).toBe(10_000)
    expect(soc0 - b.socWh).toBeCloseTo(10_000 / 0.95, 6)
    const soc1 = b.socWh
    for (let i = 0; i < 3600; i++) expect(b.step(-10_000, 1000)).toBe(-10_000)
    expect(b.socWh - soc1).toBeCloseTo(9_500, 6)
  })

  it('gives peak power only for its duration, then its continuous rating', () => {
    const b = new Battery(spec)
    const first = Array.from({ length: 60 }, () => b.step(200_000, 1000))
    expect(first.every(w => w === 200_000)).toBe(true)
    expect(b.step(200_000, 1000)).toBe(100_000)
    // Sustained, the budget only trickles back: the average stays near the continuous rating.
    const sustained = Array.from({ length: 600 }, () => b.step(200_000, 1000))
    const avg = sustained.reduce((s, w) => s + w, 0) / sustained.length
    expect(avg).toBeGreaterThanOrEqual(100_000)
    expect(avg).toBeLessThanOrEqual(100_000 + 100_000 * spec.peakDurationMs / PEAK_RECOVERY_MS + 1)
    // A rest at or below continuous restores the full peak.
    for (let i = 0; i < PEAK_RECOVERY_MS / 1000; i++) b.step(0, 1000)
    expect(b.step(200_000, 60_000)).toBeCloseTo(200_000, 6)
  })
})

describe('signing meter', () => {
  it('keeps monotone registers, contiguous seqs, aligned times and verifiable readings', () => {
    const keys = generateKeyPair()
    const intervalMs = 10_000
    const { meter, reading } = SigningMeter.commission(keys, intervalMs, DAY0 + 12_345)
    expect(reading.record.body.t).toBe(DAY0 + 10_000)
    const readings: Reading[] = [reading]
    let importWh = 0
    let exportWh = 0
    let x = 7
    for (let i = 0; i < 600; i++) {
      x = (x * 1103515245 + 12345) % 2147483648
      const w = (x / 2147483648) * 200_000 - 60_000
      if (w >= 0) importWh += w / 3600
      else exportWh -= w / 3600
      const r = meter.integrate(w, w * 0.2, 1000)
      if (r !== undefined) readings.push(r)
    }
    expect(readings).toHaveLength(61)
    let sumIntervalWh = 0
    readings.forEach((r, i) => {
      expect(verifyRecord(r.record, ['meter.reading']).id).toBe(r.id)
      const b = r.record.body
      expect(b.seq).toBe(i)
      expect(b.t % intervalMs).toBe(0)
      if (i === 0) return
      const a = readings[i - 1]!.record.body
      expect(b.t).toBe(a.t + intervalMs)
      for (const k of ['importWh', 'exportWh', 'importVarh', 'exportVarh'] as const) expect(b[k]).toBeGreaterThanOrEqual(a[k])
      sumIntervalWh += b.avgW * intervalMs / H
    })
    const first = readings[0]!.record.body
    const last = readings.at(-1)!.record.body
    expect(last.importWh - first.importWh).toBe(Math.floor(importWh))
    expect(last.exportWh - first.exportWh).toBe(Math.floor(exportWh))
    expect(Math.abs(sumIntervalWh - ((last.importWh - last.exportWh) - (first.importWh - first.exportWh)))).toBeLessThan(2)
    expect(() => meter.integrate(1, 0, intervalMs + 1000)).toThrow(/crosses/)
  })
})

describe('building runtime', () => {
  let dir: string
  let db: NodeDb
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pairgrid-building-'))
    db = await openDb(dir)
  })
  afterEach(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('executes a demand-response order against the metered baseline, then restarts and back-fills', async () => {
    const spec = defaultBuildingSpec()
    const meterKeys = generateKeyPair()
    const clock = scaledClock({ wall: Date.now(), sim: DAY0 + 11 * H, speed: 600 })
    const opts = { spec, meterKeys, clock, db, meterIntervalMs: MIN }
    const rt = await BuildingRuntime.start(opts)
    const t0 = (await rt.readings(0, clock.now()))[0]!.record.body.t

    const start = Math.ceil(clock.now() / MIN) * MIN + 5 * MIN
    const window = { start, end: start + 5 * MIN }
    const soc0 = rt.state().socWh
    rt.dispatch({ id: 'dr-1', service: 'demand-response', window, reductionW: 30_000 })
    await rt.waitForReading(window.end)
    const soc1 = rt.state().socWh

    const span = drTelemetrySpan(window)
    const bodies = (await rt.readings(span.from, span.to)).map(r => r.record.body)
    const out = drOutcome(bodies, window)!
    expect(Math.abs(Number(out.executedW) - 30_000)).toBeLessThanOrEqual(300)
    // The battery covered load minus the metered net import, through its discharge efficiency.
    const profile = await LoadProfile.default()
    let loadWh = 0
    for (let t = window.start; t < window.end; t += STEP_MS) loadWh += profile.powerW(t + STEP_MS / 2) * STEP_MS / H
    const netWh = Number(out.windowW) * (window.end - window.start) / H
    expect(soc0 - soc1).toBeCloseTo((loadWh - netWh) / 0.95, 0)
    expect(rt.lastResponse).toMatchObject({ orderId: 'dr-1', physicalMs: STEP_MS })
    expect(rt.lastResponse!.wallMs).toBeLessThan(1000)

    await rt.stop()
    const stoppedAt = rt.state().t
    await new Promise(resolve => setTimeout(resolve, 600))
    const downUntil = clock.now()
    const rt2 = await BuildingRuntime.start(opts)
    // start() returns with the downtime already back-filled, the battery idle throughout.
    const backfilled = await rt2.readings(stoppedAt, downUntil)
    expect(backfilled.at(-1)!.record.body.t).toBe(Math.floor(downUntil / MIN) * MIN)
    expect(backfilled.every(r => r.record.body.avgW > 60_000)).toBe(true)
    expect(rt2.state().socWh).toBe(soc1)
    const next = Math.floor(clock.now() / MIN) * MIN + MIN
    await rt2.waitForReading(next)
    await rt2.stop()

    const all = await rt2.readings(0, next)
    expect(all[0]!.record.body.t).toBe(t0)
    expect(all.at(-1)!.record.body.t).toBe(next)
    expect(next - stoppedAt).toBeGreaterThan(5 * MIN)
    all.forEach((r, i) => {
      expect(r.record.body.seq).toBe(i)
      expect(r.record.body.t).toBe(t0 + i * MIN)
      verifyRecord(r.record)
    })
  })
})

describe('demand-response evaluation', () => {
  const T = DAY0 + 10 * H
  const base = (over: Partial<DrEvaluationInput> = {}): DrEvaluationInput => ({
    spec: defaultBuildingSpec(),
    socWh: 140_000,
    now: T,
    window: { start: T + H, end: T + H + 15 * MIN },
    reductionW: 30_000,
    loadForecastW: () => 120_000,
    committed: [],
    ...over
  })

  it('accepts a feasible request on the battery', () => {
    expect(evaluateDemandResponse(base())).toEqual({ ok: true, elements: ['battery'] })
  })

  it('names each refusal', () => {
    const reason = (over: Partial<DrEvaluationInput>): unknown => {
      const r = evaluateDemandResponse(base(over))
      return r.ok ? 'ok' : { reason: r.reason, detail: r.detail }
    }
    expect(reason({ service: 'frequency-regulation' })).toMatchObject({ reason: 'unsupported-service' })
    expect(reason({ window: { start: T - MIN, end: T + MIN } })).toMatchObject({ reason: 'outside-surface' })
    expect(reason({ reductionW: 100_000, window: { start: T + H, end: T + 3 * H } })).toMatchObject({ reason: 'outside-surface' })
    expect(reason({ reductionW: 150_000 })).toMatchObject({ reason: 'insufficient-power' })
    const dip = T + H + 7 * MIN
    expect(reason({ loadForecastW: t => t === dip ? 20_000 : 120_000 })).toMatchObject({ reason: 'insufficient-load', detail: expect.stringContaining(new Date(dip).toISOString()) })
    expect(reason({ socWh: 20_000 + 20_000 + 1_000 })).toMatchObject({ reason: 'insufficient-energy' })
    const overlapping = { id: 'c-power', window: { start: T + H + 5 * MIN, end: T + 2 * H }, reductionW: 80_000 }
    expect(reason({ committed: [overlapping] })).toMatchObject({ reason: 'conflict', detail: expect.stringContaining('c-power') })
    const earlier = { id: 'c-energy', window: { start: T, end: T + H }, reductionW: 90_000 }
    expect(reason({ committed: [earlier] })).toMatchObject({ reason: 'conflict', detail: expect.stringContaining('c-energy') })
  })
})
