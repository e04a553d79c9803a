import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import fc from 'fast-check'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LoadProfile } from '../src/building/load-profile.js'
import { Battery, PEAK_RECOVERY_MS } from '../src/building/battery.js'
import { defaultBuildingSpec, fineBuildingSpec, namedBuildingSpec, parseBuildingSpec, smallBuildingSpec, type BuildingSpec } from '../src/building/spec.js'
import { Inverter } from '../src/building/inverter.js'
import { Hvac, HVAC_SHED_MS } from '../src/building/hvac.js'
import { EvCharger } from '../src/building/ev-charger.js'
import { pvW } from '../src/building/pv.js'
import { surfaceOf, servicesOf } from '../src/building/surface.js'
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
  const bad = (mutate: (s: BuildingSpec) => void, base = defaultBuildingSpec): () => void => () => {
    const s = base()
    mutate(s)
    parseBuildingSpec(s)
  }

  it('accepts the shipped specs, by name too', () => {
    for (const make of [defaultBuildingSpec, fineBuildingSpec, smallBuildingSpec]) expect(parseBuildingSpec(make())).toEqual(make())
    expect(namedBuildingSpec('fine')).toEqual(fineBuildingSpec())
    expect(() => namedBuildingSpec('huge')).toThrow(/default, fine, small/)
  })

  it('refuses building totals outside the seed ranges and inconsistent elements', () => {
    expect(bad(s => { s.racks = [s.racks[0]!]; s.racks[0]!.capacityWh = 40_000 })).toThrow(/total capacityWh/)
    expect(bad(s => { s.racks.forEach(r => { r.maxDischargeW = 130_000; r.peakDischargeW = 130_000 }) })).toThrow(/total maxDischargeW/)
    expect(bad(s => { s.racks[1]!.peakDischargeW = 110_000 })).toThrow(/racks\/1.*peakDischargeW/)
    expect(bad(s => { s.racks[0]!.socFloorPm = 960 })).toThrow(/socFloorPm/)
    expect(bad(s => { s.racks[1]!.id = 'rack-1' })).toThrow(/used twice/)
    expect(bad(s => { s.racks[0]!.id = 'building' })).toThrow(/reserved/)
    expect(bad(s => { s.reserveWh = 170_000 })).toThrow(/reserveWh/)
    expect(bad(s => { s.racks.push(...Array.from({ length: 15 }, (_, i) => ({ ...s.racks[0]!, id: `r${i}`, capacityWh: 5_000, maxDischargeW: 1_000, maxChargeW: 1_000, peakDischargeW: 1_000 }))) })).toThrow(/racks/)
    expect(bad(s => { s.hvac![0]!.flexW = 70_000 }, fineBuildingSpec)).toThrow(/flexW/)
    expect(bad(s => { s.ev![1]!.sessions[1]!.arriveTod = '11:00' }, fineBuildingSpec)).toThrow(/overlap/)
    expect(bad(s => { s.ev![0]!.sessions[0]!.needWh = 100_000 }, fineBuildingSpec)).toThrow(/needWh/)
    expect(bad(s => { s.ev![0]!.sessions[0]!.departTod = '25:00' }, fineBuildingSpec)).toThrow(/HH:MM/)
  })

  it('derives the profile surface: aggregate bounds, per element on a fine surface', () => {
    const coarse = surfaceOf(defaultBuildingSpec())
    expect(coarse).toMatchObject({ granularity: 'coarse', energyWh: 170_000, continuousW: 100_000, peakW: 120_000, var: 120_000, reserveWh: 20_000, elements: [] })
    const fine = surfaceOf(fineBuildingSpec())
    expect(fine.elements.map(e => `${e.kind}:${e.id}`)).toEqual(['battery-rack:rack-a', 'battery-rack:rack-b', 'battery-rack:rack-c', 'inverter:pcs-1', 'hvac:hvac-1', 'ev-charger:ev-1', 'ev-charger:ev-2', 'pv:pv-1'])
    const response = Object.fromEntries(servicesOf(defaultBuildingSpec()).map(s => [s.service, s.responseMs]))
    expect(response['frequency-regulation']).toBeLessThanOrEqual(4_000)
    expect(response['demand-response']).toBeLessThanOrEqual(30_000)
    expect(Object.fromEntries(servicesOf(fineBuildingSpec()).map(s => [s.service, s.responseMs]))['demand-response']).toBe(Math.ceil(HVAC_SHED_MS * 0.95))
  })
})

describe('battery', () => {
  const spec = defaultBuildingSpec().racks[0]!

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
    const first = Array.from({ length: 60 }, () => b.step(100_000, 1000))
    expect(first.every(w => w === 100_000)).toBe(true)
    expect(b.step(100_000, 1000)).toBe(50_000)
    // Sustained, the budget only trickles back: the average stays near the continuous rating.
    const sustained = Array.from({ length: 600 }, () => b.step(100_000, 1000))
    const avg = sustained.reduce((s, w) => s + w, 0) / sustained.length
    expect(avg).toBeGreaterThanOrEqual(50_000)
    expect(avg).toBeLessThanOrEqual(50_000 + 50_000 * spec.peakDurationMs / PEAK_RECOVERY_MS + 1)
    // A rest at or below continuous restores the full peak.
    for (let i = 0; i < PEAK_RECOVERY_MS / 1000; i++) b.step(0, 1000)
    expect(b.step(100_000, 60_000)).toBeCloseTo(100_000, 6)
    // Plans count the continuous rating only, and name what limits them.
    expect(b.dischargeCap(1000, false)).toEqual({ w: 50_000, by: 'power' })
    const low = new Battery({ ...spec, initialSocPm: spec.socFloorPm + 1 })
    expect(low.dischargeCap(60_000).by).toBe('energy')
  })
})

describe('inverter', () => {
  const spec = defaultBuildingSpec().inverter

  it('ramps active power at its rate and gives reactive power what the active power leaves of its rating', () => {
    const inv = new Inverter(spec)
    const p = inv.stepP(100_000, 200_000, 200_000, 1000, ['rack-1'])
    expect(p.end).toBe(50_000)
    expect(p.avg).toBe(25_000)
    expect(p.at(400)).toBeCloseTo(20_000, 6)
    const p2 = inv.stepP(100_000, 200_000, 200_000, 2000, ['rack-1'])
    expect(p2.end).toBe(100_000)
    expect(p2.avg).toBeCloseTo((75_000 * 1000 + 100_000 * 1000) / 2000, 6)
    // A rack limit below the output cuts it at once.
    expect(inv.stepP(100_000, 30_000, 30_000, 1000, ['rack-1']).avg).toBe(30_000)
    // The kvar capability curve: |Q| <= sqrt(S² - P²) at the step's largest |P|.
    expect(inv.qLimitVar(96_000, 72_000)).toBeCloseTo(72_000, 6)
    const q = inv.stepQ(100_000, inv.qLimitVar(96_000, 96_000), 10_000)
    expect(q.end).toBeCloseTo(72_000, 6)
    expect(inv.qLimitVar(120_000, 0)).toBe(0)
  })
})

describe('flexible loads and PV', () => {
  const T = DAY0 + 14 * H

  it('an HVAC sheds within its flexibility and its curtailment budget, then pays the rebound back', () => {
    const spec = fineBuildingSpec().hvac![0]!
    const h = new Hvac(spec)
    expect(h.naturalW(T)).toBeGreaterThan(spec.flexW)
    let shedWh = 0
    let reboundWh = 0
    let lastShedAt = T
    for (let t = T; t < T + 2 * H; t += 1000) {
      const natural = h.naturalW(t + 500)
      const asked = t < T + 40 * MIN ? 50_000 : 0
      const r = h.step(t, 1000, asked)
      expect(r.avg).toBeGreaterThanOrEqual(natural - spec.flexW - 1e-9)
      expect(r.avg).toBeLessThanOrEqual(spec.ratedW + 1e-9)
      if (r.avg < natural) { shedWh += (natural - r.avg) / 3600; lastShedAt = t + 1000 }
      if (r.avg > natural) reboundWh += (r.avg - natural) / 3600
    }
    // Asked to shed for 40 minutes: it sheds its flexible part until the budget is spent (plus its
    // ramps in and out), then pays back reboundPm of that energy, and only then could shed again.
    expect(lastShedAt - T).toBe(spec.maxCurtailMs + HVAC_SHED_MS)
    expect(shedWh).toBeCloseTo(spec.flexW * spec.maxCurtailMs / H, -1)
    expect(reboundWh).toBeCloseTo(shedWh * spec.reboundPm / 1000, 6)
    expect(h.snapshot()).toMatchObject({ debtWh: 0 })
  })

  it('an HVAC behaves the same whatever the step size, so plans in minutes foresee the runtime\'s seconds', () => {
    const spec = fineBuildingSpec().hvac![0]!
    // Two orders hold the unit: 10:00-10:40 (past its budget) and 11:00-11:20.
    const held = (t: number): boolean => (t >= T && t < T + 40 * MIN) || (t >= T + H && t < T + H + 20 * MIN)
    const run = (dtMs: number): Array<{ energyWh: number, debtWh: number, shedW: number }> => {
      const h = new Hvac(spec)
      const marks: Array<{ energyWh: number, debtWh: number, shedW: number }> = []
      let energyWh = 0
      for (let t = T; t < T + 2 * H; t += dtMs) {
        const r = h.step(t, dtMs, held(t) ? 20_000 : 0, held(t))
        energyWh += r.avg * dtMs / H
        if ((t + dtMs) % MIN === 0) marks.push({ energyWh, ...h.snapshot() })
      }
      return marks
    }
    const fine = run(1000)
    const coarse = run(MIN)
    expect(coarse).toHaveLength(fine.length)
    coarse.forEach((c, i) => {
      // Only the duty's sampling (midpoints) differs: Wh over hours, events ms apart.
      expect(Math.abs(c.energyWh - fine[i]!.energyWh)).toBeLessThan(5)
      expect(Math.abs(c.debtWh - fine[i]!.debtWh)).toBeLessThan(5)
      expect(Math.abs(c.shedW - fine[i]!.shedW)).toBeLessThan(50)
    })
    // The second order found the unit paid back and curtailed it again.
    expect(Math.max(...coarse.slice(61, 80).map(m => m.shedW))).toBe(20_000)
  })

  it('an EV charger is curtailed only within its session slack and still delivers the need by departure', () => {
    const spec = fineBuildingSpec().ev![0]! // 13:00-19:00, 30 kWh at 11 kW
    const unmanaged = new EvCharger(spec)
    const managed = new EvCharger(spec)
    const start = DAY0 + 13 * H
    let shedAny = 0
    for (let t = start; t < start + 6 * H; t += 10_000) {
      unmanaged.step(t, 10_000, 0)
      const flex = managed.flexW(t, 10_000)
      const r = managed.step(t, 10_000, 1_000_000)
      shedAny = Math.max(shedAny, flex)
      expect(r.avg).toBeGreaterThanOrEqual(0)
    }
    expect(shedAny).toBe(spec.maxW)
    expect(unmanaged.snapshot().deliveredWh).toBeCloseTo(30_000, 6)
    expect(managed.snapshot().deliveredWh).toBeGreaterThan(30_000 - 1)
    expect(managed.session(start + 7 * H)).toBeUndefined()
    expect(unmanaged.naturalW(start + H)).toBe(spec.maxW)
    expect(unmanaged.naturalW(start + 3 * H)).toBe(0)
  })

  it('PV is a clear-sky bell from 06:00 to 18:00 UTC', () => {
    const pv = fineBuildingSpec().pv!
    expect(pvW(pv, DAY0 + 3 * H)).toBe(0)
    expect(pvW(pv, DAY0 + 12 * H)).toBeCloseTo(60_000, 6)
    expect(pvW(pv, DAY0 + 9 * H)).toBeCloseTo(60_000 * Math.SQRT1_2, 6)
    expect(pvW(undefined, DAY0 + 12 * H)).toBe(0)
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
    rt.dispatch({ id: 'dr-1', service: 'demand-response', window, elements: ['building'], reductionW: 30_000 })
    await rt.waitForReading(window.end)
    const soc1 = rt.state().socWh

    const span = drTelemetrySpan(window)
    const bodies = (await rt.readings(span.from, span.to)).map(r => r.record.body)
    const out = drOutcome(bodies, window)!
    expect(Math.abs(Number(out.executedW) - 30_000)).toBeLessThanOrEqual(300)
    // The racks covered load minus the metered net import, through their discharge efficiency
    // (and, after the window, the inverter's ramp back to zero: a few Wh).
    const profile = await LoadProfile.default()
    let loadWh = 0
    for (let t = window.start; t < window.end; t += STEP_MS) loadWh += profile.powerW(t + STEP_MS / 2) * STEP_MS / H
    const netWh = Number(out.windowW) * (window.end - window.start) / H
    expect(Math.abs((soc0 - soc1) - (loadWh - netWh) / 0.95)).toBeLessThan(10)
    const [m] = rt.responses()
    expect(m).toMatchObject({ orderId: 'dr-1', service: 'demand-response', samples: 1, unreached: 0 })
    // 30 kW at 50 kW/s to within 5%: 570 ms, found at the 50-ms probes of the 1-s step.
    expect(m!.physicalMs).toBe(600)
    expect(m!.wallMs).toBeLessThan(1000)

    await rt.stop()
    const stoppedAt = rt.state().t
    const socAtStop = rt.state().socWh
    await new Promise(resolve => setTimeout(resolve, 600))
    const downUntil = clock.now()
    const rt2 = await BuildingRuntime.start(opts)
    // start() returns with the downtime already back-filled, the racks idle throughout.
    const backfilled = await rt2.readings(stoppedAt, downUntil)
    expect(backfilled.at(-1)!.record.body.t).toBe(Math.floor(downUntil / MIN) * MIN)
    expect(backfilled.every(r => r.record.body.avgW > 60_000)).toBe(true)
    expect(rt2.state().socWh).toBe(socAtStop)
    expect(rt2.state().inverter).toEqual({ pW: 0, qVar: 0 })
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

  it('refuses orders it cannot execute and setpoints for orders that do not regulate', async () => {
    const clock = scaledClock({ wall: Date.now(), sim: DAY0 + 11 * H, speed: 1 })
    const rt = await BuildingRuntime.start({ spec: defaultBuildingSpec(), meterKeys: generateKeyPair(), clock, db, meterIntervalMs: 2000 })
    const window = { start: clock.now() + H, end: clock.now() + 2 * H }
    expect(() => rt.dispatch({ id: 'x', service: 'demand-response', window, elements: ['hvac-9'], reductionW: 1 })).toThrow(/hvac-9/)
    expect(() => rt.dispatch({ id: 'x', service: 'demand-response', window: { start: 2, end: 1 }, elements: ['building'], reductionW: 1 })).toThrow(/window/)
    expect(() => rt.dispatch({ id: 'x', service: 'peak-shaving', window, elements: ['building'], capW: 0 })).toThrow(/quantity/)
    rt.dispatch({ id: 'dr', service: 'demand-response', window, elements: ['building'], reductionW: 10_000 })
    rt.dispatch({ id: 'fr', service: 'frequency-regulation', window, elements: ['rack-1'], capacityW: 10_000 })
    expect(() => rt.regulate('dr', 100)).toThrow(/frequency-regulation/)
    expect(() => rt.regulate('fr', 1001)).toThrow(/±1000/)
    rt.regulate('fr', -1000)
    expect(rt.responses().map(r => r.orderId)).toEqual(['dr', 'fr'])
    await rt.stop()
  })
})
