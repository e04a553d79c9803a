// The building's decisions on recorded cases: evaluate (src/building/evaluate.ts) and arbitrate
// (src/building/scheduler.ts) over held orders, from none to 500 — a few of every service, crowds
// of small demand-response orders sharing window slots (alike or each different, some in
// progress with their baselines fixed, as a busy building holds them), scattered small orders of
// every service — with what the building answered: accept and the elements, or refuse with the
// reason, the detail text and the order named as the conflict. Many cases are conflicts the
// planner finds (the request fits alone, not with the held orders), whose detail names a culprit
// among the held orders: requests sized at or just under the most that fits alone, some failing
// only after their own window, in a step a later held order makes the plan run; others exceed the
// surface's bound on what is committed at once, with held orders starting at many different times.
// The fixture was recorded from evaluate as it was before the culprit search and the stacked bound
// were made cheap; any change of decision or text fails here.
// Re-record (only after a deliberate change of the building's physics or its refusal texts, and
// from the code whose answers are to be kept):
//   PAIRGRID_RECORD_EVALUATE_FIXTURE=1 npx vitest run test/building-evaluate.test.ts
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { evaluate, type Evaluation, type EvaluationInput } from '../src/building/evaluate.js'
import { MergedOrders } from '../src/building/merged-orders.js'
import { arbitrate, type ArbitrationCandidate } from '../src/building/scheduler.js'
import { SERVICES, makeOrder, unitOf, type DispatchOrder, type Service } from '../src/building/order.js'
import { plan, type PlanState } from '../src/building/plan.js'
import { WHOLE_BUILDING, elementIds, type BuildingSpec } from '../src/building/spec.js'
import { DAY0, H, MIN, forecast, momentFields, recordedFixture, specOf, type SpecName } from './helpers/recorded-building.js'

const FIXTURE = recordedFixture<Fixture>('building-evaluate.json', 'PAIRGRID_RECORD_EVALUATE_FIXTURE')


const CODE: Record<Service, string> = { 'demand-response': 'DR', 'peak-shaving': 'PS', 'frequency-regulation': 'FR', 'voltage-support': 'VS', 'reactive-power': 'RP' }
const SERVICE_OF = Object.fromEntries(Object.entries(CODE).map(([s, c]) => [c, s as Service]))
/** [id, service code, start and end in ms from now, quantity, elements (the whole building when absent)] */
type OrderRow = [string, string, number, number, number, string[]?]
const rowOf = (id: string, service: Service, start: number, end: number, q: number, elements: string[]): OrderRow =>
  elements.length === 1 && elements[0] === WHOLE_BUILDING ? [id, CODE[service], start, end, q] : [id, CODE[service], start, end, q, elements]
/**
 * n orders of one service in `slots` window slots `spacingMs` apart (ms from now), each `lenMs`
 * long and started up to `jitterMs` late; quantity q, or q plus a spread below `vary` so that no
 * two are alike. Ids `${prefix}${i}`. With `baseline`, that baseline is fixed for each of them
 * whose window has started (as the runtime holds the orders in effect).
 */
interface Crowd { prefix: string, n: number, service: string, startMs: number, lenMs: number, slots: number, spacingMs: number, jitterMs: number, q: number, vary: number, elements?: string[], baseline?: { w?: number, var?: number } }
/** Held orders in this order: explicit rows, a crowd, or the same order object again (by index so far). */
type Part = { rows: OrderRow[] } | { crowd: Crowd } | { again: number }

interface Base {
  spec: SpecName
  now: number
  k: number
  /** per rack: [state of charge per mille, peak used ms] */
  racks: Array<[number, number]>
  /** the state of every HVAC unit, of every EV charger (not in a session) */
  hvac?: { shedW: number, curtailedMs: number, debtWh: number, engaged: boolean }
  ev?: { deliveredWh: number, shedW: number }
  baselines?: Record<string, { w?: number, var?: number }>
  held: Part[]
}
/** A request: service, start and end in ms from now, quantity and unit (the service's when absent). */
interface Ask { service: string, start: number, end: number, q: number, unit?: string }
interface EvalCase extends Base { ask: Ask }
interface ArbCase extends Base { batches: Array<Array<Omit<ArbitrationCandidate, 'window' | 'quantity'> & { ask: Ask }>> }
interface Fixture {
  evaluations: Array<{ input: EvalCase, expect: Evaluation | { error: string } }>
  arbitrations: Array<{ input: ArbCase, expect: unknown }>
}

function expand (c: Crowd, now: number): DispatchOrder[] {
  return Array.from({ length: c.n }, (_, i) => {
    const start = now + c.startMs + (i % c.slots) * c.spacingMs + (c.jitterMs > 0 ? (i * 7919) % (c.jitterMs + 1) : 0)
    return makeOrder(`${c.prefix}${i}`, SERVICE_OF[c.service]!, { start, end: start + c.lenMs }, c.q + (c.vary > 0 ? (i * 104_729) % c.vary : 0), c.elements ?? [WHOLE_BUILDING])
  })
}

function held (parts: Part[], now: number): DispatchOrder[] {
  const out: DispatchOrder[] = []
  for (const p of parts) {
    if ('rows' in p) for (const [id, code, start, end, q, elements] of p.rows) out.push(makeOrder(id, SERVICE_OF[code]!, { start: now + start, end: now + end }, q, elements ?? [WHOLE_BUILDING]))
    else if ('crowd' in p) out.push(...expand(p.crowd, now))
    else if (out.length > 0) out.push(out[p.again % out.length]!)
  }
  return out
}

function baseOf (c: Base): Omit<EvaluationInput, 'service' | 'window' | 'quantity'> {
  const spec = specOf(c.spec)
  const racks = spec.racks.map((r, i) => ({ id: r.id, socWh: r.capacityWh * c.racks[i]![0] / 1000, peakUsedMs: c.racks[i]![1] }))
  const baselines = { ...c.baselines }
  for (const p of c.held) {
    if (!('crowd' in p) || p.crowd.baseline === undefined) continue
    for (const o of expand(p.crowd, c.now)) if (o.window.start <= c.now) baselines[o.id] ??= p.crowd.baseline
  }
  const state: PlanState = {
    racks,
    ...(c.hvac === undefined ? {} : { hvac: (spec.hvac ?? []).map(h => ({ id: h.id, ...c.hvac! })) }),
    ...(c.ev === undefined ? {} : { ev: (spec.ev ?? []).map(e => ({ id: e.id, sessionStart: null, ...c.ev! })) }),
    ...(Object.keys(baselines).length === 0 ? {} : { baselines })
  }
  return { spec, state, now: c.now, loadForecastW: forecast(spec, c.k), committed: held(c.held, c.now) }
}

const request = (a: Ask, now: number): Pick<EvaluationInput, 'service' | 'window' | 'quantity'> =>
  ({ service: a.service, window: { start: now + a.start, end: now + a.end }, quantity: { value: a.q, unit: a.unit ?? (SERVICES.includes(a.service as Service) ? unitOf(a.service as Service) : 'W') } })

function caught<T> (run: () => T): T | { error: string } {
  try {
    return run()
  } catch (e) {
    return { error: String(e) }
  }
}

const runEvaluation = (c: EvalCase): Evaluation | { error: string } => caught(() => evaluate({ ...baseOf(c), ...request(c.ask, c.now) }))

/** Each batch is arbitrated against the held orders plus what earlier batches admitted. */
function runArbitration (c: ArbCase): unknown {
  return caught(() => {
    const base = baseOf(c)
    const committed = [...base.committed]
    return c.batches.map(batch => {
      const candidates: ArbitrationCandidate[] = batch.map(({ ask, ...x }) => ({ ...x, ...request(ask, c.now) }))
      const decisions = arbitrate(candidates, { ...base, committed: [...committed] })
      for (const { id, decision } of decisions) {
        const cand = candidates.find(x => x.id === id)!
        if (decision.ok) committed.push(makeOrder(id, cand.service as Service, cand.window, cand.quantity.value, decision.elements))
      }
      return decisions
    })
  })
}

// ---- generation (record mode only: the fixture holds the inputs) ----

const quantity = (s: Service, small: boolean): fc.Arbitrary<number> => small
  ? fc.integer({ min: s === 'peak-shaving' ? 60_000 : 50, max: s === 'peak-shaving' ? 250_000 : 2_000 })
  : s === 'peak-shaving' ? fc.integer({ min: 5_000, max: 250_000 }) : s === 'demand-response' ? fc.integer({ min: 200, max: 90_000 }) : fc.integer({ min: 500, max: 110_000 })

/** [service, start and end relative to now, quantity, elements] */
type RowGen = [Service, number, number, number, string[]]
const rowArb = (ids: string[], small: boolean): fc.Arbitrary<RowGen> => fc.constantFrom(...SERVICES).chain(service => fc.tuple(
  fc.constant(service),
  fc.integer({ min: -200, max: 600 }),
  fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 59_999 }) }),
  fc.constantFrom(1, 5, 15, 15, 30, 60, 120, 240),
  quantity(service, small),
  fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([WHOLE_BUILDING]) }, { weight: 2, arbitrary: fc.subarray(ids, { minLength: 1 }) })
)).map(([service, startMin, offMs, minutes, q, elements]): RowGen => [service, startMin * MIN + offMs, startMin * MIN + offMs + minutes * MIN, q, elements])

/** A crowd as generated: by service name, elements always given. */
type CrowdGen = Omit<Crowd, 'prefix' | 'service' | 'elements'> & { service: Service, elements: string[] }
const crowdArb = (ids: string[], maxN: number, many: number): fc.Arbitrary<CrowdGen> => fc.record({
  n: fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 0, max: 50 }) }, { weight: many, arbitrary: fc.integer({ min: 40, max: maxN }) }),
  service: fc.oneof({ weight: 8, arbitrary: fc.constant<Service>('demand-response') }, { weight: 1, arbitrary: fc.constantFrom<Service>('frequency-regulation', 'reactive-power', 'voltage-support', 'peak-shaving') }),
  startMin: fc.oneof({ weight: 1, arbitrary: fc.integer({ min: -30, max: 0 }) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 240 }) }),
  startOffMs: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 59_999 }) }),
  lenMin: fc.constantFrom(1, 5, 15, 15, 30, 60),
  slots: fc.integer({ min: 1, max: 8 }),
  spacingMin: fc.constantFrom(1, 10, 15, 20, 40, 60),
  jitterMs: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 * MIN }) }),
  q: fc.integer({ min: 50, max: 400 }),
  vary: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 600 }) }),
  elements: fc.oneof({ weight: 4, arbitrary: fc.constant<string[]>([WHOLE_BUILDING]) }, { weight: 1, arbitrary: fc.subarray(ids, { minLength: 1 }) }),
  baseline: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ w: fc.integer({ min: 0, max: 150_000 }), var: fc.option(fc.integer({ min: -20_000, max: 40_000 }), { nil: undefined }) }) })
}).map(g => ({
  n: g.n,
  service: g.service,
  startMs: g.startMin * MIN + g.startOffMs,
  lenMs: g.lenMin * MIN,
  slots: g.slots,
  spacingMs: g.spacingMin * MIN,
  jitterMs: g.jitterMs,
  q: g.service === 'peak-shaving' ? 60_000 + g.q * 100 : g.q,
  vary: g.vary,
  elements: g.elements,
  ...(g.baseline === undefined ? {} : { baseline: g.baseline.var === undefined ? { w: g.baseline.w } : g.baseline })
}))

/** Requests sized so that many fit alone and not with what is held. */
const askArb = (spec: BuildingSpec): fc.Arbitrary<Ask> => {
  const dischargeW = Math.min(spec.inverter.ratedVA, spec.racks.reduce((s, r) => s + r.maxDischargeW, 0))
  return fc.record({
    service: fc.oneof({ weight: 5, arbitrary: fc.constant('demand-response') }, { weight: 2, arbitrary: fc.constantFrom(...SERVICES) }, { weight: 1, arbitrary: fc.constant('frequency-regulation') }),
    startMin: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 360 }) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 2_900 }) }),
    startOffMs: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 59_999 }) }),
    minutes: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(5, 15, 30, 60, 90, 120, 180, 240) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 25 * 60 }) }),
    share: fc.integer({ min: 1, max: 1_100 }),
    odd: fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('kW', 'var', 'W', 'teleport') })
  }).map(g => {
    const service = g.odd === 'teleport' ? 'teleport' : g.service
    const unitQ = service === 'peak-shaving' ? 250_000 : service === 'voltage-support' || service === 'reactive-power' ? spec.inverter.ratedVA : dischargeW
    const a: Ask = { service, start: g.startMin * MIN + g.startOffMs, end: g.startMin * MIN + g.startOffMs + g.minutes * MIN, q: Math.max(1, Math.round(unitQ * g.share / 1_000)) }
    if (g.odd !== undefined && g.odd !== 'teleport') a.unit = g.odd
    return a
  })
}

/** Mix of held-order shapes: [few rows, crowds, scatter] weights; `many`: weight of large crowds over small ones. */
function baseArb (maxHeld: number, weights: [number, number, number] = [3, 4, 1], many = 2): fc.Arbitrary<Base> {
  return fc.constantFrom<SpecName>('default', 'default', 'fine', 'small').chain(name => {
    const spec = specOf(name)
    const ids = elementIds(spec)
    const rack = (r: BuildingSpec['racks'][number]): fc.Arbitrary<[number, number]> => fc.tuple(
      fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 600, max: r.socCeilingPm }) }, { weight: 1, arbitrary: fc.integer({ min: r.socFloorPm, max: r.socCeilingPm }) }),
      fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: r.peakDurationMs }) }))
    const few = fc.array(rowArb(ids, false), { maxLength: 12 }).map(rows => [rows])
    const crowds = fc.tuple(fc.array(crowdArb(ids, maxHeld, many), { minLength: 1, maxLength: 2 }), fc.array(rowArb(ids, true), { maxLength: 4 }), fc.boolean())
    const scatter = fc.array(rowArb(ids, true), { minLength: 30, maxLength: Math.max(30, Math.min(120, maxHeld)) }).map(rows => [rows])
    return fc.record({
      ...momentFields(spec.racks.map(rack)),
      shape: fc.oneof(
        { weight: weights[0], arbitrary: few.map(p => ({ rows: p, crowds: [] as Array<CrowdGen>, rowsFirst: true })) },
        { weight: weights[1], arbitrary: crowds.map(([cs, rows, rowsFirst]) => ({ rows: [rows], crowds: cs, rowsFirst })) },
        { weight: weights[2], arbitrary: scatter.map(p => ({ rows: p, crowds: [] as Array<CrowdGen>, rowsFirst: true })) }),
      again: fc.oneof({ weight: 8, arbitrary: fc.constant([] as number[]) }, { weight: 1, arbitrary: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }) }),
      sameId: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat()) }),
      known: fc.array(fc.record({ at: fc.nat(), w: fc.option(fc.integer({ min: 0, max: 150_000 }), { nil: undefined }), var: fc.option(fc.integer({ min: -20_000, max: 40_000 }), { nil: undefined }) }), { maxLength: 3 }),
      hvac: fc.option(fc.record({ shedW: fc.integer({ min: 0, max: 30_000 }), curtailedMs: fc.integer({ min: 0, max: 30 * MIN }), debtWh: fc.integer({ min: 0, max: 5_000 }), engaged: fc.boolean() }), { nil: undefined }),
      ev: fc.option(fc.record({ deliveredWh: fc.integer({ min: 0, max: 20_000 }), shedW: fc.integer({ min: 0, max: 11_000 }) }), { nil: undefined })
    }).map(g => {
      const now = DAY0 + g.hour * H + g.minute * MIN + g.second * 1000
      let total = 0
      const rowParts: Part[] = g.shape.rows.filter(rows => rows.length > 0).map(rows => ({ rows: rows.map((r, i): OrderRow => rowOf(`o${i}`, r[0], r[1], r[2], r[3], r[4])) }))
      const crowdParts: Part[] = g.shape.crowds.map((c, i) => {
        const n = Math.max(0, Math.min(c.n, maxHeld - total))
        total += n
        const { elements, service, ...rest } = c
        return { crowd: { prefix: `h${i}-`, ...rest, service: CODE[service], n, ...(elements.length === 1 && elements[0] === WHOLE_BUILDING ? {} : { elements }) } }
      })
      const parts: Part[] = g.shape.rowsFirst ? [...rowParts, ...crowdParts] : [...crowdParts, ...rowParts]
      for (const a of g.again) parts.push({ again: a })
      const all = held(parts, now)
      // Two held orders under one id (the request's own id among them, sometimes).
      if (g.sameId !== undefined && all.length > 1) {
        const rows = parts.flatMap(p => 'rows' in p ? p.rows : [])
        if (rows.length > 0) rows[g.sameId[0] % rows.length]![0] = g.sameId[1] % 3 === 0 ? 'request' : all[g.sameId[1] % all.length]!.id
      }
      const named = held(parts, now)
      const baselines: Record<string, { w?: number, var?: number }> = {}
      for (const b of g.known) if (named.length > 0) baselines[named[b.at % named.length]!.id] = { ...(b.w === undefined ? {} : { w: b.w }), ...(b.var === undefined ? {} : { var: b.var }) }
      const c: Base = { spec: name, now, k: g.k, racks: g.racks, held: parts }
      if (Object.keys(baselines).length > 0) c.baselines = baselines
      if (g.hvac !== undefined && (spec.hvac ?? []).length > 0) c.hvac = g.hvac
      if (g.ev !== undefined && (spec.ev ?? []).length > 0) c.ev = g.ev
      return c
    })
  })
}

const evalCaseArb = (maxHeld: number): fc.Arbitrary<EvalCase> => baseArb(maxHeld).chain(b => askArb(specOf(b.spec)).map(ask => ({ ...b, ask })))

/** The most a request can ask and still fit with nothing held (peak shaving: the lowest cap), by bisection; undefined if nothing fits. */
function mostAlone (b: Base, ask: Ask): number | undefined {
  const base = { ...baseOf(b), committed: [] }
  const fits = (q: number): boolean => evaluate({ ...base, ...request({ ...ask, q }, b.now) }).ok
  // Peak shaving fits with a high cap, the others with a small quantity.
  const up = ask.service !== 'peak-shaving'
  let lo = up ? 1 : 1_000_000
  let hi = up ? 1_000_000 : 1
  if (!fits(lo)) return undefined
  while (Math.abs(hi - lo) > 1) {
    const mid = Math.round((lo + hi) / 2)
    if (fits(mid)) lo = mid
    else hi = mid
  }
  return lo
}
const under = (ask: Ask, most: number, k: number): number => Math.max(1, ask.service !== 'peak-shaving' ? Math.floor(most * k) : Math.ceil(most / k))

/**
 * Requests that fit alone, at or a little under the most that does (found by bisection with
 * nothing held), over many held orders: mostly refused as conflicts the planner finds.
 */
const conflictCaseArb = (maxHeld: number): fc.Arbitrary<EvalCase> => baseArb(maxHeld, [1, 8, 1], 5).chain(b => fc.record({
  service: fc.oneof({ weight: 7, arbitrary: fc.constant<Service>('demand-response') }, { weight: 3, arbitrary: fc.constant<Service>('peak-shaving') }, { weight: 1, arbitrary: fc.constantFrom<Service>('frequency-regulation', 'reactive-power', 'voltage-support') }),
  startMin: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 1_200 }) }),
  startOffMs: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 59_999 }) }),
  minutes: fc.constantFrom(5, 15, 30, 60, 90, 120, 180, 240, 360),
  under: fc.constantFrom(1, 1, 0.995, 0.98, 0.95, 0.9, 0.8, 0.6)
}).map(g => {
  const ask: Ask = { service: g.service, start: g.startMin * MIN + g.startOffMs, end: g.startMin * MIN + g.startOffMs + (g.minutes * MIN), q: 1 }
  const most = mostAlone(b, ask)
  return { ...b, ask: { ...ask, q: most === undefined ? (g.service !== 'peak-shaving' ? 1_000 : 100_000) : under(ask, most, g.under) } }
}))

/**
 * A request at the most that fits alone, with the racks low and held orders mostly after its
 * window, starting at or just after its end (cutting the plan's steps there) or much later
 * (only extending the plan): the plan may then fail after the request's window, in a step where
 * no order is in effect, and the held order that only keeps the plan running is the culprit.
 */
const tailCaseArb = (): fc.Arbitrary<EvalCase> => fc.record({
  spec: fc.constantFrom<SpecName>('default', 'fine', 'small'),
  hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 9, max: 15 })),
  socPm: fc.integer({ min: 250, max: 550 }),
  service: fc.oneof({ weight: 1, arbitrary: fc.constantFrom<Service>('demand-response', 'peak-shaving') }, { weight: 2, arbitrary: fc.constant<Service>('frequency-regulation') }),
  startMin: fc.integer({ min: 0, max: 120 }),
  minutes: fc.constantFrom(15, 30, 60, 90, 90),
  under: fc.constantFrom(1, 1, 1, 1, 0.99999, 0.9999),
  before: fc.array(fc.tuple(fc.constantFrom<Service>('peak-shaving', 'peak-shaving', 'reactive-power', 'demand-response'), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 30 })), { maxLength: 2 }),
  after: fc.array(fc.tuple(fc.constantFrom(0, 1_000, 30_000, 59_999, MIN, 61_000, 5 * MIN, 240 * MIN), fc.constantFrom(1, 5, 60), fc.integer({ min: 50, max: 500 })), { minLength: 1, maxLength: 3 })
}).map(g => {
  const spec = specOf(g.spec)
  const b: Base = { spec: g.spec, now: DAY0 + g.hour * H, k: 1.3, racks: spec.racks.map((): [number, number] => [g.socPm, 0]), held: [] }
  const ask: Ask = { service: g.service, start: (g.startMin + 15) * MIN, end: (g.startMin + 15 + g.minutes) * MIN, q: 1 }
  const rows: OrderRow[] = [
    ...g.before.map(([service, startMin, minutes], i) => rowOf(`o${i}`, service, startMin * MIN, (startMin + minutes) * MIN, service === 'peak-shaving' ? 1_000_000 : 100, [WHOLE_BUILDING])),
    ...g.after.map(([offMs, minutes, q], i) => rowOf(`t${i}`, 'demand-response', ask.end + offMs, ask.end + offMs + minutes * MIN, q, [WHOLE_BUILDING]))
  ]
  const most = mostAlone(b, ask)
  return { ...b, held: [{ rows }], ask: { ...ask, q: most === undefined ? 1_000 : under(ask, most, g.under) } }
})

/**
 * The same, laid out where such failures were found: regulation at the most that fits alone, a
 * peak-shaving order before it that never binds, one small demand-response order after it.
 */
function tailCases (): EvalCase[] {
  const found: Array<[SpecName, number, number, number]> = [['default', 12, 300, 60], ['default', 12, 300, 90], ['default', 12, 400, 90], ['small', 12, 300, 90], ['small', 12, 400, 90], ['fine', 12, 400, 60], ['fine', 3, 300, 60]]
  return found.flatMap(([name, hour, socPm, minutes]) => {
    const spec = specOf(name)
    const b: Base = { spec: name, now: DAY0 + hour * H, k: 1.3, racks: spec.racks.map((): [number, number] => [socPm, 0]), held: [] }
    const ask: Ask = { service: 'frequency-regulation', start: 60 * MIN, end: (60 + minutes) * MIN, q: 1 }
    const most = mostAlone(b, ask) ?? 1_000
    return [0, 30_000, MIN, 5 * MIN, 240 * MIN].map(off => ({
      ...b,
      held: [{ rows: [rowOf('b', 'peak-shaving', 10 * MIN, 20 * MIN, 1_000_000, [WHOLE_BUILDING]), rowOf('c', 'demand-response', ask.end + off, ask.end + off + 5 * MIN, 100, [WHOLE_BUILDING])] }],
      ask: { ...ask, q: most }
    }))
  })
}

/**
 * Crowds of one unit's orders starting at many different times, and a request sized about what
 * the surface leaves free at the busiest start: refused (or not) on the bound of what is
 * committed at once.
 */
const stackedCaseArb = (maxHeld: number): fc.Arbitrary<EvalCase> => fc.record({
  spec: fc.constantFrom<SpecName>('default', 'fine', 'small'),
  hour: fc.integer({ min: 0, max: 23 }),
  var: fc.boolean(),
  crowds: fc.array(fc.record({
    n: fc.integer({ min: 1, max: maxHeld }),
    startMs: fc.integer({ min: 0, max: 120 * MIN }),
    lenMin: fc.constantFrom(5, 15, 30, 60, 120),
    slots: fc.integer({ min: 1, max: 12 }),
    spacingMs: fc.constantFrom(1_000, 7_000, MIN, 5 * MIN),
    jitterMs: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 20 * MIN }) }),
    q: fc.integer({ min: 20, max: 3_000 }),
    vary: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 3_000 }) })
  }), { minLength: 1, maxLength: 3 }),
  startMs: fc.integer({ min: 0, max: 150 * MIN }),
  minutes: fc.constantFrom(5, 15, 30, 60, 120),
  delta: fc.oneof(fc.constantFrom(-1, 0, 1, 2), fc.integer({ min: -5_000, max: 5_000 }))
}).map(g => {
  const spec = specOf(g.spec)
  const now = DAY0 + g.hour * H
  const service: Service = g.var ? 'reactive-power' : 'demand-response'
  let left = maxHeld
  const held: Part[] = g.crowds.map((c, i) => {
    const n = Math.min(c.n, left)
    left -= n
    return { crowd: { prefix: `h${i}-`, n, service: CODE[service], startMs: c.startMs, lenMs: c.lenMin * MIN, slots: c.slots, spacingMs: c.spacingMs, jitterMs: c.jitterMs, q: c.q, vary: c.vary } }
  })
  const ask: Ask = { service, start: g.startMs, end: g.startMs + g.minutes * MIN, q: 1 }
  const committed = held.flatMap(p => 'crowd' in p ? expand(p.crowd, now) : [])
  const w = { start: now + ask.start, end: now + ask.end }
  const same = committed.filter(c => c.window.start < w.end && w.start < c.window.end)
  let most = 0
  for (const t of [w.start, ...same.map(c => c.window.start).filter(t => t > w.start && t < w.end)]) {
    most = Math.max(most, same.filter(c => c.window.start <= t && t < c.window.end).reduce((a, c) => a + (c.service === 'demand-response' ? c.reductionW : c.service === 'reactive-power' ? c.setpointVar : 0), 0))
  }
  const dischargeW = Math.min(spec.inverter.ratedVA, spec.racks.reduce((a, r) => a + r.maxDischargeW, 0))
  const flexW = (spec.hvac ?? []).reduce((a, h) => a + h.flexW, 0) + (spec.ev ?? []).reduce((a, e) => a + e.maxW, 0)
  const bound = g.var ? spec.inverter.ratedVA : dischargeW + flexW
  const c: EvalCase = { spec: g.spec, now, k: 1.3, racks: spec.racks.map((): [number, number] => [900, 0]), held, ask: { ...ask, q: Math.max(1, bound - most + g.delta) } }
  return c
})

const arbCaseArb = (maxHeld: number): fc.Arbitrary<ArbCase> => baseArb(maxHeld).chain(b => fc.array(fc.array(fc.record({
  ask: askArb(specOf(b.spec)),
  rateMinor: fc.integer({ min: 1_000, max: 500_000 }),
  firm: fc.boolean(),
  issuedAt: fc.integer({ min: 0, max: 1_000 })
}), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 3 }).map(batches => {
  let n = 0
  return { ...b, batches: batches.map(batch => batch.map(x => ({ id: `c${n++}`, service: x.ask.service, rateMinor: x.rateMinor, firm: x.firm, issuedAt: x.issuedAt, ask: x.ask }))) }
}))

const kind = (e: unknown): string => {
  if (typeof e !== 'object' || e === null) return 'other'
  if ('error' in e) return 'error'
  const x = e as Evaluation
  if (x.ok) return 'ok'
  return x.reason === 'conflict' ? (x.detail.startsWith('the request fits alone') ? 'conflict:plan' : x.detail.startsWith('with ') ? 'conflict:stacked' : 'conflict:meter') : x.reason
}

function record (): Fixture {
  const evaluations = [
    ...fc.sample(evalCaseArb(60), { seed: 20261201, numRuns: 80 }),
    ...fc.sample(evalCaseArb(500), { seed: 20261202, numRuns: 8 }),
    ...fc.sample(conflictCaseArb(500), { seed: 20261204, numRuns: 125 }),
    ...fc.sample(stackedCaseArb(200), { seed: 20261205, numRuns: 40 }),
    ...fc.sample(tailCaseArb(), { seed: 20261206, numRuns: 16 }),
    ...tailCases()
  ].map(input => ({ input, expect: runEvaluation(input) }))
  const arbitrations = fc.sample(arbCaseArb(300), { seed: 20261203, numRuns: 10 }).map(input => ({ input, expect: runArbitration(input) }))
  return { evaluations, arbitrations }
}

const heldCount = (c: Base): number => held(c.held, c.now).length

describe('held demand-response orders merged for the planner', () => {
  const spec = specOf('fine')
  const [r1, r2] = spec.racks.map(r => r.id)
  const w = { start: DAY0 + 10 * H, end: DAY0 + 11 * H }
  const dr = (id: string, reductionW: number, elements: string[], window = w): DispatchOrder => makeOrder(id, 'demand-response', window, reductionW, elements)
  const state = (baselines?: PlanState['baselines']): PlanState => ({ racks: [], ...(baselines === undefined ? {} : { baselines }) })
  const merge = (orders: DispatchOrder[], s = state()): DispatchOrder[] | undefined => MergedOrders.of(orders, s)?.orders

  it('merges orders alike in window, elements and fixed baseline into the first, with the summed reduction', () => {
    const fr = makeOrder('f', 'frequency-regulation', w, 1_000, [WHOLE_BUILDING])
    const orders = [dr('a', 100, [r1!]), fr, dr('b', 250, [r1!]), dr('c', 7, [r1!])]
    expect(merge(orders)).toEqual([dr('a', 357, [r1!]), fr])
    expect(orders[0]).toEqual(dr('a', 100, [r1!]))
    expect(merge([dr('a', 100, [r1!]), dr('b', 100, [r1!])], state({ a: { w: 5_000 }, b: { w: 5_000 } }))).toEqual([dr('a', 200, [r1!])])
    // Interleaved windows still meet their groups; an order added later joins its group too.
    const later = { start: w.end, end: w.end + H }
    const m = MergedOrders.of([dr('a', 1, [r1!]), dr('x', 10, [r1!], later), dr('b', 2, [r1!]), dr('y', 20, [r1!], later)], state())!
    expect(m.add(dr('c', 4, [r1!]))).toBe(true)
    expect(m.orders).toEqual([dr('a', 7, [r1!]), dr('x', 30, [r1!], later)])
  })

  it('keeps apart what the planner reads differently, and gives up where it cannot merge exactly', () => {
    const apart = [
      [dr('a', 100, [r1!]), dr('b', 100, [r2!])],
      [dr('a', 100, [r1!]), dr('b', 100, [r1!], { start: w.start, end: w.end + MIN })],
      [dr('a', 100, [r1!]), dr('b', 100, [r1!, r2!])]
    ]
    for (const orders of apart) expect(merge(orders)).toEqual(orders)
    const alike = [dr('a', 100, [r1!]), dr('b', 100, [r1!])]
    const differing: Array<PlanState['baselines']> = [{ a: { w: 5_000 } }, { a: { w: 5_000 }, b: { w: 5_001 } }, { a: { w: 0 }, b: { w: -0 } }, { a: { w: 1, var: 2 }, b: { w: 1 } }]
    for (const baselines of differing) {
      expect(merge(alike, state(baselines))).toEqual(alike)
    }
    expect(merge([dr('a', 100, [r1!]), dr('a', 100, [r1!])])).toBeUndefined()
    expect(merge([dr('request', 100, [r1!]), dr('b', 100, [r1!])])).toBeUndefined()
    expect(merge([dr('a', 2 ** 52, [r1!]), dr('b', 2 ** 52, [r1!])])).toBeUndefined()
    const m = MergedOrders.of(alike, state())!
    expect(m.add(dr('b', 1, [r1!]))).toBe(false)
  })
})

describe('building decisions (recorded)', () => {
  if (FIXTURE.recording) {
    it('records the fixture', () => {
      const f = record()
      FIXTURE.save(f)
      const count = (xs: string[]): Record<string, number> => xs.reduce<Record<string, number>>((m, k) => { m[k] = (m[k] ?? 0) + 1; return m }, {})
      console.log('evaluations', count(f.evaluations.map(e => kind(e.expect))))
      console.log('planner conflicts by orders held', count(f.evaluations.filter(e => kind(e.expect) === 'conflict:plan').map(e => String(Math.min(5, Math.floor(heldCount(e.input) / 100)) * 100) + '+')))
      console.log('arbitrated', count(f.arbitrations.flatMap(a => Array.isArray(a.expect) ? (a.expect as Array<Array<{ decision: Evaluation }>>).flat().map(d => kind(d.decision)) : ['error'])))
    }, 1_800_000)
    return
  }
  const fixture = FIXTURE.load()

  it('has a recorded fixture with planner conflicts over many held orders', () => {
    expect(fixture).toBeDefined()
    expect(fixture!.evaluations.length).toBeGreaterThan(240)
    const conflicts = fixture!.evaluations.filter(e => kind(e.expect) === 'conflict:plan')
    expect(conflicts.length).toBeGreaterThan(50)
    expect(conflicts.filter(e => heldCount(e.input) >= 300).length).toBeGreaterThan(5)
  })

  it('evaluate: same decisions, reasons, details and elements', () => {
    for (const [i, { input, expect: want }] of (fixture?.evaluations ?? []).entries()) {
      expect({ case: i, got: runEvaluation(input) }).toStrictEqual({ case: i, got: want })
    }
  }, 300_000)

  it('held demand-response orders merged where alike plan as the orders do: fit, or fail at the same step for the same reason', () => {
    const outcome = { merged: 0, fits: 0, fails: 0 }
    for (const [i, { input }] of (fixture?.evaluations ?? []).entries()) {
      const base = baseOf(input)
      const merged = MergedOrders.of(base.committed, base.state)?.orders
      const ask = request(input.ask, input.now)
      if (merged === undefined || merged.length === base.committed.length || !SERVICES.includes(ask.service as Service) || ask.quantity.unit !== unitOf(ask.service as Service)) continue
      outcome.merged++
      expect(merged.length).toBeLessThan(base.committed.length)
      const candidate = makeOrder('request', ask.service as Service, ask.window, ask.quantity.value, [WHOLE_BUILDING])
      const planOf = (orders: readonly DispatchOrder[]): unknown => {
        const v = plan({ ...base, orders: [...orders, candidate] })
        return v === undefined ? 'fits' : { reason: v.reason, t: v.t, detail: v.detail }
      }
      const want = planOf(base.committed)
      expect({ case: i, got: planOf(merged) }).toStrictEqual({ case: i, got: want })
      if (want === 'fits') outcome.fits++
      else outcome.fails++
    }
    // Both sides of the claim are exercised.
    expect(outcome.fits).toBeGreaterThan(10)
    expect(outcome.fails).toBeGreaterThan(10)
  }, 300_000)

  it('arbitrate: same decisions, reasons, details and elements', () => {
    for (const [i, { input, expect: want }] of (fixture?.arbitrations ?? []).entries()) {
      expect({ case: i, got: JSON.parse(JSON.stringify(runArbitration(input))) }).toStrictEqual({ case: i, got: want })
    }
  }, 300_000)
})
