import type { RequestBody, SettlementBody } from '../../src/records/grid-schemas.js'
import type { ReadingBody } from '../../src/records/meter-schemas.js'

const T0 = Date.UTC(2026, 10, 21, 14, 0, 0)

export function sampleRequest (requester: string): RequestBody {
  return {
    marketplace: 'utility-dr',
    requester,
    service: 'demand-response',
    window: { start: T0, end: T0 + 15 * 60_000 },
    quantity: { value: 50_000, unit: 'W' },
    price: { mechanism: 'tariff', reference: 'tariff/dr-2026', currency: 'USD', rate: 25_000, rateUnit: 'MWh' },
    settlementMethod: 'pairgrid/dr-mbe/1',
    settlementIntervalMs: 15 * 60_000,
    toleranceBp: 1000,
    nonce: '0123456789abcdef0123456789abcdef',
    issuedAt: T0 - 60_000,
    expiresAt: T0 - 10_000
  }
}

export function sampleSettlement (provider: string, requester: string, meter: string): SettlementBody {
  const req = sampleRequest(requester)
  return {
    request: 'a'.repeat(64),
    commitment: 'b'.repeat(64),
    acceptance: 'c'.repeat(64),
    marketplace: req.marketplace,
    requester,
    provider,
    service: req.service,
    window: req.window,
    settlementMethod: req.settlementMethod,
    committed: req.quantity,
    baseline: 80_000,
    executed: 50_100,
    paidEnergy: 12_500,
    performance: 1000,
    price: req.price,
    amount: { minor: 312, currency: 'USD' },
    telemetry: { meter, from: T0 - 15 * 60_000, to: T0 + 15 * 60_000, count: 181, firstSeq: 10, lastSeq: 190, root: 'd'.repeat(64) },
    ledger: { provider: { size: 12, root: 'e'.repeat(64) }, requester: { size: 7, root: 'f'.repeat(64) } },
    issuedAt: T0 + 16 * 60_000
  }
}

export function sampleReading (meter: string, seq: number): ReadingBody {
  return {
    meter, seq, t: T0 + seq * 10_000, intervalMs: 10_000,
    importWh: 1000 + seq * 200, exportWh: 0, importVarh: 10, exportVarh: 0,
    avgW: 72_000, avgVar: 1500, voltagePu: 1012, frequencyMHz: 60_003, rocofMHzPerS: -2
  }
}
