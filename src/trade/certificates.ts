// Energy attribute certificates: a metered interval's energy may be certified once. Several
// buyers of one block share its interval (partial fills), so the rule is: certificates drawing on
// one meter name identical or disjoint intervals, agree on the interval's export and sales, and
// together certify no more than the export. Anyone holding the certificates can check it; the
// producer's own node refuses to sign one that would break it; a retirement happens once.
import type { Verified } from '../records/envelope.js'
import type { CertificateBody } from '../records/trade-schemas.js'

export type CertificateFault =
  | { kind: 'same-trade', detail: string }
  | { kind: 'overlapping-intervals', detail: string }
  | { kind: 'inconsistent-interval', detail: string }
  | { kind: 'over-certified', detail: string }
  | { kind: 'understated-sales', detail: string }

const sameInterval = (a: CertificateBody, b: CertificateBody): boolean => a.interval.from === b.interval.from && a.interval.to === b.interval.to
const overlaps = (a: CertificateBody, b: CertificateBody): boolean => a.interval.from < b.interval.to && b.interval.from < a.interval.to

/** Whether two different certificates certify the same metered energy twice. */
export function certificateConflict (a: Verified<'trade.certificate'>, b: Verified<'trade.certificate'>): CertificateFault | undefined {
  if (a.id === b.id) return undefined
  const x = a.record.body
  const y = b.record.body
  if (x.settlement === y.settlement || x.acceptance === y.acceptance) return { kind: 'same-trade', detail: `certificates ${a.id.slice(0, 12)}… and ${b.id.slice(0, 12)}… certify one trade` }
  if (x.interval.meter !== y.interval.meter || !overlaps(x, y)) return undefined
  if (!sameInterval(x, y)) return { kind: 'overlapping-intervals', detail: `meter ${x.interval.meter} certified over ${x.interval.from}..${x.interval.to} and ${y.interval.from}..${y.interval.to}` }
  if (x.interval.exportWh !== y.interval.exportWh || x.interval.soldWh !== y.interval.soldWh) {
    return { kind: 'inconsistent-interval', detail: `one interval stated as ${x.interval.exportWh} Wh exported / ${x.interval.soldWh} Wh sold and as ${y.interval.exportWh} / ${y.interval.soldWh}` }
  }
  if (x.certifiedWh + y.certifiedWh > x.interval.exportWh) return { kind: 'over-certified', detail: `${x.certifiedWh} + ${y.certifiedWh} Wh certified of ${x.interval.exportWh} Wh exported` }
  // Every sale of the interval is counted in soldWh, so two of them cannot certify more.
  if (x.certifiedWh + y.certifiedWh > x.interval.soldWh) return { kind: 'understated-sales', detail: `${x.certifiedWh} + ${y.certifiedWh} Wh certified of ${x.interval.soldWh} Wh stated as sold` }
  return undefined
}

/** The energy certified per metered interval, above its export. */
function overCertified (certs: readonly CertificateBody[]): CertificateFault[] {
  const totals = new Map<string, { sum: number, exportWh: number }>()
  for (const c of certs) {
    const key = `${c.interval.meter} ${c.interval.from}..${c.interval.to}`
    const t = totals.get(key) ?? { sum: 0, exportWh: c.interval.exportWh }
    t.sum += c.certifiedWh
    totals.set(key, t)
  }
  return [...totals].filter(([, t]) => t.sum > t.exportWh).map(([key, t]) => ({ kind: 'over-certified', detail: `interval ${key}: ${t.sum} Wh certified of ${t.exportWh} Wh exported` }))
}

/** Every fault among a set of certificates: pairwise conflicts, and intervals certified beyond their export. */
export function certificationFaults (certs: ReadonlyArray<Verified<'trade.certificate'>>): CertificateFault[] {
  const unique = [...new Map(certs.map(v => [v.id, v])).values()]
  const faults: CertificateFault[] = []
  for (let i = 0; i < unique.length; i++) {
    for (let j = i + 1; j < unique.length; j++) {
      const f = certificateConflict(unique[i]!, unique[j]!)
      if (f !== undefined) faults.push(f)
    }
  }
  return [...faults, ...overCertified(unique.map(v => v.record.body))]
}

/** Two different retirements of one certificate: the second is refused, and holding both shows it. */
export function retirementConflict (a: Verified<'trade.retirement'>, b: Verified<'trade.retirement'>): string | undefined {
  return a.id !== b.id && a.record.body.certificate === b.record.body.certificate ? `certificate ${a.record.body.certificate.slice(0, 12)}… retired twice (${a.id.slice(0, 12)}…, ${b.id.slice(0, 12)}…)` : undefined
}

/** The certificates a node signed or countersigned, to refuse any that would certify energy twice. */
export class CertificateRegistry {
  private readonly byMeter = new Map<string, Array<Verified<'trade.certificate'>>>()

  add (c: Verified<'trade.certificate'>): void {
    const list = this.byMeter.get(c.record.body.interval.meter) ?? []
    if (!list.some(x => x.id === c.id)) list.push(c)
    this.byMeter.set(c.record.body.interval.meter, list)
  }

  /** The fault a new certificate would introduce among those held, if any. */
  refuse (c: Verified<'trade.certificate'>): CertificateFault | undefined {
    const held = (this.byMeter.get(c.record.body.interval.meter) ?? []).filter(x => x.id !== c.id)
    for (const x of held) {
      const f = certificateConflict(x, c)
      if (f !== undefined) return f
    }
    return overCertified([...held.map(x => x.record.body).filter(x => sameInterval(x, c.record.body)), c.record.body])[0]
  }
}
