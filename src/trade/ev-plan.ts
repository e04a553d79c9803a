// EV smart charging (seed 002 [0153]): meet the energy a departure needs at the least cost from
// the offers known, charging from the utility only as late as it must. A pure function of the
// need, the session, the purchases already confirmed and the offers open; the plan is greedy by
// rank price — optimal here, because every source feeds one block and every block is capped by
// the charger — with stored-coupling offers ranked as configured cheaper, and utility energy
// placed in the latest blocks first (it is committed only when its block begins).
import { DAY_MS, parseTimeOfDay, timeOfDay } from '../building/time-of-day.js'
import { afterLoss } from './proximity.js'

const H = 3_600_000

/** Energy a drive of `miles` needs at the charger: efficiency in tenths of a mile per kWh, rounded up. */
export function milesToWh (miles: number, milesPerKWhX10: number): number {
  return Math.ceil(miles * 10_000 / milesPerKWhX10)
}

/** The session (arrival to departure, UTC times of day; a departure at or before the arrival is the next day) in progress at `now`, or the next one. */
export function sessionAt (arrival: string, departure: string, now: number): { start: number, end: number } {
  const a = parseTimeOfDay(arrival)!
  const d = parseTimeOfDay(departure)!
  const duration = ((d - a) % DAY_MS + DAY_MS) % DAY_MS || DAY_MS
  const sinceArrival = timeOfDay(now - a)
  const start = sinceArrival < duration ? now - sinceArrival : now - sinceArrival + DAY_MS
  return { start, end: start + duration }
}

export interface Purchase { trade: string, producer: string, block: { start: number, end: number }, receivedWh: number, rate: number }
export interface Candidate { offer: string, producer: string, block: { start: number, end: number }, availableWh: number, lossPm: number, rate: number, stored: boolean }

export interface PlanInput {
  needWh: number
  session: { start: number, end: number }
  maxW: number
  blockMs: number
  now: number
  purchases: readonly Purchase[]
  /** Utility energy already committed to blocks that have begun. */
  gridWh: ReadonlyMap<number, number>
  offers: readonly Candidate[]
  gridRate: number
  preferStoredBp: number
}

export interface PlanBlock {
  start: number
  end: number
  purchases: Array<{ id: string, producer: string, receivedWh: number, rate: number, costMinor: number, state: 'confirmed' | 'to-accept' }>
  gridWh: number
  gridCostMinor: number
  chargeWh: number
}

export interface Plan {
  needWh: number
  coveredWh: number
  feasible: boolean
  blocks: PlanBlock[]
  /** Offers to accept now: the quantity at the producer's PCC that arrives as `receivedWh`. */
  accept: Array<{ offer: string, quantityWh: number, receivedWh: number }>
  costMinor: { offers: number, grid: number, total: number }
}

const cost = (wh: number, rate: number): number => Number(BigInt(wh) * BigInt(rate) / 1_000_000n)

/** The least energy sent that arrives as at least `received` after `lossPm`. */
function sentFor (received: number, lossPm: number): number {
  let sent = Math.ceil(received * 1000 / (1000 - lossPm))
  while (afterLoss(BigInt(sent), lossPm) < BigInt(received)) sent++
  return sent
}

export function planCharging (p: PlanInput): Plan {
  const capWh = Math.floor(p.maxW * p.blockMs / H)
  const first = Math.floor(p.session.start / p.blockMs) * p.blockMs
  const blocks: PlanBlock[] = []
  for (let t = first; t < p.session.end; t += p.blockMs) blocks.push({ start: t, end: t + p.blockMs, purchases: [], gridWh: 0, gridCostMinor: 0, chargeWh: 0 })
  const at = new Map(blocks.map(b => [b.start, b]))
  const room = new Map(blocks.map(b => [b.start, capWh]))
  let need = p.needWh
  const take = (b: PlanBlock, wh: number): number => {
    const n = Math.max(0, Math.min(wh, room.get(b.start)!, need))
    room.set(b.start, room.get(b.start)! - n)
    need -= n
    b.chargeWh += n
    return n
  }
  for (const x of p.purchases) {
    const b = at.get(x.block.start)
    if (b === undefined) continue
    const n = take(b, x.receivedWh)
    b.purchases.push({ id: x.trade, producer: x.producer, receivedWh: n, rate: x.rate, costMinor: cost(n, x.rate), state: 'confirmed' })
  }
  for (const [start, wh] of p.gridWh) {
    const b = at.get(start)
    if (b !== undefined) b.gridWh += take(b, wh)
  }
  // Only blocks not yet begun can still be bought or given utility energy.
  const open = (start: number): boolean => start >= p.now
  const rank = (c: Candidate): number => c.stored ? c.rate * (10_000 - p.preferStoredBp) / 10_000 : c.rate
  const offers = p.offers.filter(c => at.has(c.block.start) && open(c.block.start) && c.block.end - c.block.start === p.blockMs)
    .sort((x, y) => rank(x) - rank(y) || x.block.start - y.block.start || (x.offer < y.offer ? -1 : 1))
  const grid = blocks.filter(b => open(b.start)).sort((x, y) => y.start - x.start)
  const accept: Plan['accept'] = []
  let gi = 0
  for (const c of offers) {
    // Utility energy cheaper than this offer comes first (latest blocks first).
    for (; gi < grid.length && p.gridRate < rank(c) && need > 0; gi++) grid[gi]!.gridWh += take(grid[gi]!, need)
    const b = at.get(c.block.start)!
    const n = take(b, afterLossNumber(c.availableWh, c.lossPm))
    if (n === 0) continue
    b.purchases.push({ id: c.offer, producer: c.producer, receivedWh: n, rate: c.rate, costMinor: cost(n, c.rate), state: 'to-accept' })
    accept.push({ offer: c.offer, quantityWh: Math.min(c.availableWh, sentFor(n, c.lossPm)), receivedWh: n })
  }
  for (; gi < grid.length && need > 0; gi++) grid[gi]!.gridWh += take(grid[gi]!, need)
  for (const b of blocks) b.gridCostMinor = cost(b.gridWh, p.gridRate)
  const offersCost = blocks.reduce((s, b) => s + b.purchases.reduce((t, x) => t + x.costMinor, 0), 0)
  const gridCost = blocks.reduce((s, b) => s + b.gridCostMinor, 0)
  return { needWh: p.needWh, coveredWh: p.needWh - need, feasible: need === 0, blocks, accept, costMinor: { offers: offersCost, grid: gridCost, total: offersCost + gridCost } }
}

function afterLossNumber (wh: number, lossPm: number): number {
  return Number(afterLoss(BigInt(wh), lossPm))
}
