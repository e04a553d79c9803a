// Held orders as the planner needs them: demand-response orders alike in everything the planner
// reads of them — window, elements, the baseline already fixed for them — become one order with
// their summed reduction, under the first one's id. The planner (plan.ts, controller.ts) holds
// demand response at the lowest baseline less the sum of the reductions, sheds and discharges with
// the union of the elements named, and predicts one baseline per window; so with unique ids (the
// baselines are kept by id) and safe-integer reductions (sums exact in any grouping) the plan of
// the merged orders fails exactly when, where and why the plan of the orders does — checked on
// the recorded cases in test/building-evaluate.test.ts. Hundreds of requests answered in one
// window (a busy marketplace) are then planned as one order.
import type { DispatchOrder } from './order.js'
import type { PlanState } from './plan.js'

/** The id the request under evaluation is planned under: no held order may have it. */
export const CANDIDATE = 'request'

type DemandResponse = Extract<DispatchOrder, { service: 'demand-response' }>
interface Group { order: DemandResponse, w?: number, var?: number }

/** A number (or undefined, null) as text that tells every value apart (String(-0) is "0"); undefined for anything else. */
export const num = (x: unknown): string | undefined => typeof x === 'number' ? (Object.is(x, -0) ? '-0' : String(x)) : x === undefined ? 'u' : x === null ? 'n' : undefined

export class MergedOrders {
  readonly orders: DispatchOrder[] = []
  private readonly ids = new Set<string>([CANDIDATE])
  private readonly groups = new Map<string, Group>()
  /** Orders of one window mostly come one after another: each is compared with the last group first. */
  private last: Group | undefined
  private mass = 0

  private constructor (private readonly baselines: PlanState['baselines']) {}

  /** The orders merged; undefined when the merge would not plan as they do (a repeated id, an unsafe sum). */
  static of (orders: readonly DispatchOrder[], state: PlanState): MergedOrders | undefined {
    const merged = new MergedOrders(state.baselines)
    for (const o of orders) if (!merged.add(o)) return undefined
    return merged
  }

  /** Takes one more held order; false (and the merge is no longer of use) on a repeated id or an unsafe sum. */
  add (o: DispatchOrder): boolean {
    if (this.ids.has(o.id)) return false
    this.ids.add(o.id)
    if (o.service !== 'demand-response') {
      this.orders.push(o)
      return true
    }
    if (!Number.isSafeInteger(o.reductionW)) return false
    this.mass += Math.abs(o.reductionW)
    if (this.mass > Number.MAX_SAFE_INTEGER) return false
    const known = this.baselines?.[o.id]
    let group = this.last !== undefined && alike(this.last, o, known) ? this.last : undefined
    if (group === undefined) {
      const key = `${num(o.window.start)} ${num(o.window.end)} ${num(known?.w)} ${num(known?.var)} ${JSON.stringify(o.elements)}`
      group = this.groups.get(key)
      if (group === undefined) {
        this.groups.set(key, group = { order: { ...o }, ...(known === undefined ? {} : { w: known.w, var: known.var }) })
        this.orders.push(group.order)
        this.last = group
        return true
      }
    }
    group.order.reductionW += o.reductionW
    this.last = group
    return true
  }
}

function alike (g: Group, o: DemandResponse, known: { w?: number, var?: number } | undefined): boolean {
  const a = g.order
  return Object.is(a.window.start, o.window.start) && Object.is(a.window.end, o.window.end) && Object.is(g.w, known?.w) && Object.is(g.var, known?.var) &&
    a.elements.length === o.elements.length && a.elements.every((e, i) => e === o.elements[i])
}
