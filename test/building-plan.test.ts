// The planner's decisions on recorded cases: random order sets (every service, windows before,
// across and after now, known baselines, partial elements) and arbitration batches, with what the
// planner answered and a digest of every controller step it ran (orders in effect with their
// baselines, the outcome, the plant's state after the step). The fixture was recorded from the
// planner as it was before its cost was made near-linear in the orders held; any change of
// decision or trajectory, to the last bit, fails here.
// Re-record (only after a deliberate change of the planner's physics):
//   PAIRGRID_RECORD_PLAN_FIXTURE=1 npx vitest run test/building-plan.test.ts
import { describe, it, expect, vi } from 'vitest'
import fc from 'fast-check'
import { createHash, type Hash } from 'node:crypto'
import { plan, type PlanInput } from '../src/building/plan.js'
import { arbitrate, type ArbitrationCandidate } from '../src/building/scheduler.js'
import { SERVICES, makeOrder, unitOf, type DispatchOrder, type Service } from '../src/building/order.js'
import { WHOLE_BUILDING, elementIds, type BuildingSpec } from '../src/building/spec.js'
import { DAY0, H, MIN, forecast, momentFields, recordedFixture, specOf, type SpecName } from './helpers/recorded-building.js'
import type { Plant } from '../src/building/plant.js'
import type { ControlInput } from '../src/building/controller.js'

// Every controller step the planner runs goes through here, so the trajectory is part of the record.
const recorder = vi.hoisted(() => ({ hash: undefined as Hash | undefined, steps: 0 }))
vi.mock('../src/building/controller.js', async importOriginal => {
  const real = await importOriginal<typeof import('../src/building/controller.js')>()
  return {
    ...real,
    controlStep: (plant: Plant, input: ControlInput) => {
      const out = real.controlStep(plant, input)
      if (recorder.hash !== undefined) {
        recorder.steps++
        const { pccAt, varAt, ...rest } = out
        const orders = input.orders.map(o => [o.order.id, o.baselineW, o.baselineVar, o.setpointPm, o.makeUpW])
        recorder.hash.update(JSON.stringify([input.t, input.dtMs, input.voltagePu1000, input.planning, orders, rest, pccAt(0), varAt(input.dtMs / 2), plant.snapshot()]))
      }
      return out
    }
  }
})

const FIXTURE = recordedFixture<Fixture>('building-plan.json', 'PAIRGRID_RECORD_PLAN_FIXTURE')


/** [id, service, start and end in ms from now, quantity, elements] */
type OrderRow = [string, Service, number, number, number, string[]]
const toOrder = (now: number) => ([id, service, start, end, q, elements]: OrderRow): DispatchOrder => makeOrder(id, service, { start: now + start, end: now + end }, q, elements)

interface PlanCase {
  spec: SpecName
  now: number
  k: number
  racks: Array<{ socPm: number, peakUsedMs: number }>
  hvac?: PlanInput['state']['hvac']
  ev?: PlanInput['state']['ev']
  baselines?: Record<string, { w?: number, var?: number }>
  orders: OrderRow[]
}
interface ArbCase { spec: SpecName, socPm: number, k: number, now: number, batches: ArbitrationCandidate[][] }
interface Recorded { steps: number, digest: string }
interface Fixture {
  plans: Array<{ input: PlanCase, expect: Recorded & { result: unknown } }>
  arbitrations: Array<{ input: ArbCase, expect: Recorded & { decisions: unknown } }>
}

function traced<T> (run: () => T): { value: T | { error: string } } & Recorded {
  recorder.hash = createHash('sha256')
  recorder.steps = 0
  let value: T | { error: string }
  try {
    value = run()
  } catch (e) {
    value = { error: String(e) }
  }
  const r = { value, steps: recorder.steps, digest: recorder.hash.digest('hex') }
  recorder.hash = undefined
  return r
}

function runPlan (c: PlanCase): Fixture['plans'][number]['expect'] {
  const spec = specOf(c.spec)
  const racks = spec.racks.map((r, i) => ({ id: r.id, socWh: r.capacityWh * c.racks[i]!.socPm / 1000, peakUsedMs: c.racks[i]!.peakUsedMs }))
  const input: PlanInput = {
    spec,
    now: c.now,
    loadForecastW: forecast(spec, c.k),
    state: { racks, ...(c.hvac === undefined ? {} : { hvac: c.hvac }), ...(c.ev === undefined ? {} : { ev: c.ev }), ...(c.baselines === undefined ? {} : { baselines: c.baselines }) },
    orders: c.orders.map(toOrder(c.now))
  }
  const r = traced(() => plan(input) ?? null)
  return { result: r.value, steps: r.steps, digest: r.digest }
}

function runArbitration (c: ArbCase): Fixture['arbitrations'][number]['expect'] {
  const spec = specOf(c.spec)
  const r = traced(() => {
    const admitted: DispatchOrder[] = []
    const out: unknown[] = []
    for (const batch of c.batches) {
      const base = { spec, state: { racks: spec.racks.map(x => ({ id: x.id, socWh: x.capacityWh * c.socPm / 1000 })) }, now: c.now, loadForecastW: forecast(spec, c.k), committed: admitted }
      const decisions = arbitrate(batch, base)
      for (const { id, decision } of decisions) {
        const cand = batch.find(x => x.id === id)!
        if (decision.ok) admitted.push(makeOrder(id, cand.service as Service, cand.window, cand.quantity.value, decision.elements))
      }
      out.push(decisions)
    }
    return out
  })
  return { decisions: r.value, steps: r.steps, digest: r.digest }
}

// ---- generation (record mode only: the fixture holds the inputs) ----

const quantity = (s: Service): fc.Arbitrary<number> =>
  s === 'peak-shaving' ? fc.integer({ min: 5_000, max: 250_000 }) : s === 'demand-response' ? fc.integer({ min: 200, max: 90_000 }) : fc.integer({ min: 500, max: 110_000 })

/** [service, start and end relative to now, quantity, elements] */
type OrderGen = [Service, number, number, number, string[]]
const orderArb = (ids: string[], small = false): fc.Arbitrary<OrderGen> => fc.constantFrom(...SERVICES).chain(service => fc.tuple(
  fc.constant(service),
  fc.integer({ min: -200, max: 600 }),
  fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 59_999 }) }),
  fc.constantFrom(1, 5, 15, 15, 30, 60, 120, 240),
  small ? fc.integer({ min: service === 'peak-shaving' ? 60_000 : 100, max: service === 'peak-shaving' ? 250_000 : 2_000 }) : quantity(service),
  fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([WHOLE_BUILDING]) }, { weight: 2, arbitrary: fc.subarray(ids, { minLength: 1 }) })
)).map(([service, startMin, offMs, minutes, q, elements]): OrderGen => [service, startMin * MIN + offMs, startMin * MIN + offMs + minutes * MIN, q, elements])

function planCaseArb (): fc.Arbitrary<PlanCase> {
  return fc.constantFrom<SpecName>('default', 'fine', 'small').chain(name => {
    const spec = specOf(name)
    const ids = elementIds(spec)
    const rack = (r: BuildingSpec['racks'][number]): fc.Arbitrary<{ socPm: number, peakUsedMs: number }> => fc.record({
      socPm: fc.integer({ min: r.socFloorPm, max: r.socCeilingPm }),
      peakUsedMs: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: r.peakDurationMs }) })
    })
    const few = fc.array(orderArb(ids), { minLength: 0, maxLength: 12 })
    // Many small orders in a few slots, as a busy building holds them (the bench's shape), with a few others.
    const crowd = fc.tuple(fc.integer({ min: 40, max: 240 }), fc.integer({ min: 2, max: 8 }), fc.constantFrom(10, 15, 40), fc.integer({ min: 50, max: 250 }), fc.array(orderArb(ids, true), { maxLength: 3 }))
      .map(([n, slots, spacing, w, extra]): OrderGen[] => [
        ...Array.from({ length: n }, (_, i): OrderGen => ['demand-response', 20 * MIN + (i % slots) * spacing * MIN, 35 * MIN + (i % slots) * spacing * MIN, w, [WHOLE_BUILDING]]),
        ...extra
      ])
    // Many small orders of every service, scattered.
    const scatter = fc.array(orderArb(ids, true), { minLength: 30, maxLength: 120 })
    return fc.record({
      ...momentFields(spec.racks.map(rack)),
      orders: fc.oneof({ weight: 6, arbitrary: few }, { weight: 2, arbitrary: crowd }, { weight: 1, arbitrary: scatter }),
      known: fc.array(fc.record({ at: fc.nat(), w: fc.option(fc.integer({ min: 0, max: 150_000 }), { nil: undefined }), var: fc.option(fc.integer({ min: -20_000, max: 40_000 }), { nil: undefined }) }), { maxLength: 3 }),
      hvac: fc.option(fc.record({ shedW: fc.integer({ min: 0, max: 30_000 }), curtailedMs: fc.integer({ min: 0, max: 30 * MIN }), debtWh: fc.integer({ min: 0, max: 5_000 }), engaged: fc.boolean() }), { nil: undefined }),
      ev: fc.option(fc.record({ deliveredWh: fc.integer({ min: 0, max: 20_000 }), shedW: fc.integer({ min: 0, max: 11_000 }) }), { nil: undefined })
    }).map(g => {
      const now = DAY0 + g.hour * H + g.minute * MIN + g.second * 1000
      const orders = g.orders.map((o, i) => [`o${i}`, o[0], o[1], o[2], o[3], o[4]] as OrderRow)
      const baselines: Record<string, { w?: number, var?: number }> = {}
      for (const b of g.known) if (orders.length > 0) baselines[orders[b.at % orders.length]![0]] = { ...(b.w === undefined ? {} : { w: b.w }), ...(b.var === undefined ? {} : { var: b.var }) }
      const c: PlanCase = { spec: name, now, k: g.k, racks: g.racks, orders }
      if (Object.keys(baselines).length > 0) c.baselines = baselines
      if (g.hvac !== undefined && (spec.hvac ?? []).length > 0) c.hvac = (spec.hvac ?? []).map(h => ({ id: h.id, ...g.hvac! }))
      if (g.ev !== undefined && (spec.ev ?? []).length > 0) c.ev = (spec.ev ?? []).map(e => ({ id: e.id, sessionStart: null, ...g.ev! }))
      return c
    })
  })
}

function arbCaseArb (): fc.Arbitrary<ArbCase> {
  const cand = fc.record({
    service: fc.constantFrom(...SERVICES),
    startMin: fc.integer({ min: 0, max: 300 }),
    minutes: fc.constantFrom(5, 15, 30, 60, 120),
    kilo: fc.integer({ min: 2, max: 140 }),
    rateMinor: fc.integer({ min: 1_000, max: 500_000 }),
    firm: fc.boolean(),
    issuedAt: fc.integer({ min: 0, max: 1_000 })
  })
  return fc.record({
    spec: fc.constantFrom<SpecName>('default', 'fine', 'small'),
    socPm: fc.integer({ min: 300, max: 950 }),
    k: fc.constantFrom(0.6, 1, 1.3),
    hour: fc.integer({ min: 0, max: 23 }),
    batches: fc.array(fc.array(cand, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 })
  }).map(g => {
    const now = DAY0 + g.hour * H
    let n = 0
    const batches = g.batches.map(b => b.map(c => {
      const start = now + c.startMin * MIN
      const value = c.kilo * (c.service === 'peak-shaving' ? 1_000 : c.service === 'frequency-regulation' ? 500 : 700)
      return { id: `c${n++}`, service: c.service, window: { start, end: start + c.minutes * MIN }, quantity: { value, unit: unitOf(c.service) }, rateMinor: c.rateMinor, firm: c.firm, issuedAt: c.issuedAt }
    }))
    return { spec: g.spec, socPm: g.socPm, k: g.k, now, batches }
  })
}

function record (): Fixture {
  const plans = fc.sample(planCaseArb(), { seed: 20261121, numRuns: 180 }).map(input => ({ input, expect: runPlan(input) }))
  const arbitrations = fc.sample(arbCaseArb(), { seed: 20261122, numRuns: 40 }).map(input => ({ input, expect: runArbitration(input) }))
  return { plans, arbitrations }
}

describe('planner decisions (recorded)', () => {
  if (FIXTURE.recording) {
    it('records the fixture', () => {
      const f = record()
      FIXTURE.save(f)
      const kinds = (xs: unknown[]): Record<string, number> => xs.reduce<Record<string, number>>((m, x) => {
        const k = x === null ? 'ok' : typeof x === 'object' && x !== null && 'reason' in x ? String(x.reason) : 'error'
        m[k] = (m[k] ?? 0) + 1
        return m
      }, {})
      console.log('plans', kinds(f.plans.map(p => p.expect.result)), 'steps', f.plans.reduce((s, p) => s + p.expect.steps, 0))
    })
    return
  }
  const fixture = FIXTURE.load()

  it('has a recorded fixture', () => {
    expect(fixture).toBeDefined()
    expect(fixture!.plans.length).toBeGreaterThan(100)
  })

  it('plans: same violations and the same trajectory, step by step', () => {
    for (const [i, { input, expect: want }] of (fixture?.plans ?? []).entries()) {
      expect({ case: i, ...runPlan(input) }).toEqual({ case: i, ...want })
    }
  })

  // Only the decisions: evaluate may skip plans whose outcome is already known (test/building-evaluate.test.ts).
  it('arbitration: same decisions and elements', () => {
    for (const [i, { input, expect: want }] of (fixture?.arbitrations ?? []).entries()) {
      expect({ case: i, decisions: runArbitration(input).decisions }).toEqual({ case: i, decisions: want.decisions })
    }
  })
})
