import { it } from 'vitest'
import { fineBuildingSpec } from '../src/building/spec.js'
import { arbitrate } from '../src/building/scheduler.js'
import { makeOrder, type DispatchOrder } from '../src/building/order.js'
import { LoadProfile } from '../src/building/load-profile.js'
import { Plant } from '../src/building/plant.js'
import { controlStep, type OrderInEffect } from '../src/building/controller.js'
import { plan } from '../src/building/plan.js'
const H = 3_600_000, MIN = 60_000, DAY0 = Date.UTC(2026, 5, 10), NOW = DAY0 + 10 * H
it('scratch', async () => {
  const profile = await LoadProfile.default()
  const spec = fineBuildingSpec()
  const lf = (t: number) => profile.powerW(t) * spec.loadScale
  const state = { racks: spec.racks.map(r => ({ id: r.id, socWh: r.capacityWh * 0.3 })) }
  const batches = [[['demand-response', 183, 15, 46], ['frequency-regulation', 62, 30, 109], ['demand-response', 5, 5, 5]], [['demand-response', 129, 60, 12], ['demand-response', 5, 5, 5]]] as const
  const admitted: DispatchOrder[] = []
  let n = 0
  for (const b of batches) {
    const cands = b.map(([service, sm, m, k]) => ({ id: `c${n++}`, service, window: { start: NOW + sm * MIN, end: NOW + (sm + m) * MIN }, quantity: { value: k * (service === 'frequency-regulation' ? 500 : 700), unit: 'W' }, rateMinor: 1000, firm: false, issuedAt: 0 }))
    const d = arbitrate(cands, { spec, state, now: NOW, loadForecastW: lf, committed: admitted })
    for (const { id, decision } of d) { console.log(id, JSON.stringify(decision)); if (decision.ok) { const c = cands.find(x => x.id === id)!; admitted.push(makeOrder(id, c.service, c.window, c.quantity.value, decision.elements)) } }
  }
  console.log(admitted.map(o => `${o.id} ${o.service} ${new Date(o.window.start).toISOString().slice(11,16)}-${new Date(o.window.end).toISOString().slice(11,16)} ${JSON.stringify(o.elements)}`).join('\n'))
  ;(globalThis as any).DBG = true
  console.log('PLAN', JSON.stringify(plan({ spec, state, now: NOW, loadForecastW: lf, orders: admitted })))
  ;(globalThis as any).DBG = false
  console.log('PLAN2', JSON.stringify(plan({ spec, state, now: NOW, loadForecastW: lf, orders: admitted.filter(o => o.id !== 'c3') })))
  // plan timeline of hvac
  for (const dt of [60_000, 10_000]) {
    const plant = new Plant(spec, lf, { racks: Object.fromEntries(spec.racks.map(r => [r.id, { socWh: r.capacityWh * 0.3, peakUsedMs: 0 }])) })
    const bl = new Map<string, number>()
    const hist: Array<{ t: number, w: number }> = []
    let line = ''
    for (let t = NOW - 2 * H; t < NOW + 200 * MIN; t += dt) {
      if (t < NOW) { hist.push({ t, w: plant.naturalNetW(t + dt / 2) }); continue }
      const act: OrderInEffect[] = admitted.filter(o => o.window.start <= t && t < o.window.end).map(o => {
        if (!bl.has(o.id)) { const s = hist.filter(h => h.t >= 2 * o.window.start - o.window.end && h.t < o.window.start); bl.set(o.id, s.reduce((a, h) => a + h.w, 0) / s.length) }
        return { order: o, baselineW: bl.get(o.id)!, baselineVar: 0, setpointPm: 0 }
      })
      ;(globalThis as any).DBG = t >= NOW + 188 * MIN && t < NOW + 192 * MIN
      const out = controlStep(plant, { t, dtMs: dt, voltagePu1000: 1000, orders: act, planning: dt === 60_000 ? { reserveMarginWh: 0 } : undefined })
      hist.push({ t, w: out.pccW })
      const h = plant.hvac[0]!.snapshot()
      if ((t - NOW) % (60_000) === 0 && t >= NOW + 120 * MIN) line += `${new Date(t).toISOString().slice(11, 16)} sh=${Math.round(h.shedW)} cm=${Math.round(h.curtailedMs / 1000)} debt=${Math.round(h.debtWh)} e=${h.engaged} bat=${Math.round(out.batteryW)} ${act.map(a => a.order.id + ':' + Math.round(a.baselineW!)).join(',')}\n`
    }
    
  }
})
