// The provider's side (a building): evaluate each request, commit over a direct stream, execute
// during the window, then sign the settlement from the meter's readings and get it countersigned.
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { decodeRecord, signRecord, verifyRecord, type Envelope, type Verified } from '../records/envelope.js'
import type { RequestBody } from '../records/grid-schemas.js'
import { RecordId, type Window } from '../records/common-schemas.js'
import { RefusedError, call } from '../net/rpc.js'
import { PROTOCOL_COMMIT, PROTOCOL_SETTLE } from '../net/protocol-ids.js'
import { peerIdOfParty } from '../identity/peer.js'
import { settlementMethod } from '../market/methods.js'
import { computeSettlement } from '../market/settlement.js'
import { persist, withRetry, type PartyContext } from './context.js'
import { COMMIT_LIMITS, SETTLE_LIMITS } from './limits.js'
import type { Tx } from './book.js'

export type Evaluation = { ok: true, elements: string[] } | { ok: false, reason: string, detail: string }

export interface DispatchOrder { id: string, service: 'demand-response', window: Window, reductionW: number }

/** What the protocol needs from the building and its meter. */
export interface BuildingPort {
  meterId: string
  evaluate: (request: RequestBody, committed: DispatchOrder[]) => Evaluation
  dispatch: (order: DispatchOrder) => void
  waitForReading: (t: number, signal?: AbortSignal) => Promise<void>
  readings: (from: number, to: number) => Promise<Envelope[]>
}

const TelemetryQuery = TypeCompiler.Compile(Type.Object({ commitment: RecordId }, { additionalProperties: false }))

export class Provider {
  readonly refusals: Record<string, number> = {}
  private readonly abort = new AbortController()
  private readonly running = new Set<string>()

  constructor (private readonly ctx: PartyContext, private readonly building: BuildingPort) {}

  /** Orders of every accepted commitment that has not been settled yet (capacity in use). */
  private committedOrders (): DispatchOrder[] {
    const orders: DispatchOrder[] = []
    for (const tx of this.ctx.book.txs.values()) {
      const status = this.ctx.book.status(tx)
      if (status === 'rejected' || status === 'settled' || status === 'disputed') continue
      if (tx.commitment.record.body.provider !== this.ctx.keys.id) continue
      orders.push(orderOf(tx))
    }
    return orders
  }

  /** Called for every verified request gossiped on a joined marketplace. */
  onRequest (request: Verified<'grid.request'>): void {
    const { ctx } = this
    const r = request.record.body
    if (ctx.log.has(request.id)) return
    const method = settlementMethod(r.settlementMethod)
    if (method === undefined || method.service !== r.service) return this.refuse(request, 'unsupported-service', `settlement method ${r.settlementMethod} is not supported for ${r.service}`)
    if (method.unit !== r.quantity.unit) return this.refuse(request, 'outside-surface', `${r.settlementMethod} settles quantities in ${method.unit}, the request asks for ${r.quantity.unit}`)
    if (r.window.start <= ctx.clock.now()) return this.refuse(request, 'window-passed', 'the window has already started')
    const evaluation = this.building.evaluate(r, this.committedOrders())
    if (!evaluation.ok) return this.refuse(request, evaluation.reason, evaluation.detail)
    const commitment = signRecord('grid.commitment', {
      request: request.id,
      marketplace: r.marketplace,
      requester: r.requester,
      provider: ctx.keys.id,
      service: r.service,
      window: r.window,
      quantity: r.quantity,
      price: r.price,
      settlementMethod: r.settlementMethod,
      meter: this.building.meterId,
      elements: evaluation.elements,
      issuedAt: ctx.clock.now()
    }, ctx.keys)
    void this.run(request, commitment)
  }

  private refuse (request: Verified<'grid.request'>, reason: string, detail: string): void {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1
    this.ctx.logger.info({ request: request.id, reason, detail }, 'request not committed')
  }

  private async run (request: Verified<'grid.request'>, commitment: Verified<'grid.commitment'>): Promise<void> {
    try {
      await persist(this.ctx, request, commitment)
      this.ctx.logger.info({ tx: commitment.id, request: request.id }, 'commitment signed')
      await this.drive(this.ctx.book.txs.get(commitment.id)!)
    } catch (err) {
      this.ctx.logger.error({ tx: commitment.id, err: (err as Error).message }, 'transaction stalled')
    }
  }

  /** Carries a transaction from wherever it stands to its end; also the restart path. */
  async drive (tx: Tx): Promise<void> {
    if (this.running.has(tx.id)) return
    this.running.add(tx.id)
    try {
      if (tx.answer === undefined) await this.sendCommitment(tx)
      if (tx.answer?.record.type !== 'grid.acceptance') return
      if (this.ctx.book.status(tx) === 'settled' || tx.dispute !== undefined) return
      const order = orderOf(tx)
      if (this.ctx.clock.now() < order.window.end) this.building.dispatch(order)
      await this.settle(tx)
    } finally {
      this.running.delete(tx.id)
    }
  }

  private async sendCommitment (tx: Tx): Promise<void> {
    const { ctx } = this
    const c = tx.commitment.record.body
    const request = ctx.book.requests.get(c.request)!
    const reply = await withRetry(ctx, 'send commitment', request.record.body.expiresAt, async () =>
      await call(ctx.net, peerIdOfParty(c.requester), PROTOCOL_COMMIT, tx.commitment.record, COMMIT_LIMITS), this.abort.signal)
    const answer = verifyRecord(reply, ['grid.acceptance', 'grid.rejection'] as const)
    if (answer.record.body.commitment !== tx.id || answer.record.body.requester !== c.requester) throw new Error('answer does not answer our commitment')
    await persist(ctx, answer)
    ctx.logger.info({ tx: tx.id, answer: answer.record.type, reason: (answer.record.body as { reason?: string }).reason }, 'commitment answered')
  }

  private async settle (tx: Tx): Promise<void> {
    const { ctx } = this
    const c = tx.commitment.record.body
    const method = settlementMethod(c.settlementMethod)!
    const span = method.span(c.window)
    if (tx.settlement === undefined) {
      await this.building.waitForReading(span.to, this.abort.signal)
      const readings = await this.building.readings(span.from, span.to)
      const computed = computeSettlement(tx.commitment, tx.answer!.id, readings, ctx.clock.now())
      if (!computed.ok) throw new Error(`cannot settle from our own meter: ${computed.reason}: ${computed.detail}`)
      const signed = signRecord('grid.settlement', computed.body, ctx.keys)
      await persist(ctx, signed)
      ctx.logger.info({ tx: tx.id, executed: computed.body.executed, amount: computed.body.amount }, 'settlement signed')
    }
    const settlement = tx.settlement!
    // Settlement has no natural deadline; a week of retries bounds it until disputes-by-expiry land.
    const reply = await withRetry(ctx, 'send settlement', ctx.clock.now() + 7 * 24 * 3_600_000, async () =>
      await call(ctx.net, peerIdOfParty(c.requester), PROTOCOL_SETTLE, settlement.record, SETTLE_LIMITS), this.abort.signal)
    const answer = verifyRecord(reply, ['grid.settlement', 'grid.dispute'] as const)
    if (answer.record.type === 'grid.settlement') {
      if (answer.id !== settlement.id || answer.record.sigs.length !== 2) throw new Error('countersigned settlement does not match ours')
    } else if ((answer.record.body as { settlement: string }).settlement !== settlement.id) {
      throw new Error('dispute does not name our settlement')
    }
    await persist(ctx, answer)
    ctx.logger.info({ tx: tx.id, outcome: answer.record.type === 'grid.settlement' ? 'countersigned' : 'disputed' }, 'settlement answered')
  }

  /** Handler of the telemetry stream: only the commitment's requester may fetch its readings. */
  async onTelemetry (bytes: Uint8Array, remoteParty: string): Promise<{ readings: Envelope[] }> {
    let query: unknown
    try { query = JSON.parse(new TextDecoder().decode(bytes)) } catch { throw new RefusedError('malformed-json', 'telemetry query is not JSON') }
    if (!TelemetryQuery.Check(query)) throw new RefusedError('schema', 'telemetry query must be {"commitment": <record id>}')
    const tx = this.ctx.book.txs.get(query.commitment)
    if (tx === undefined || tx.commitment.record.body.provider !== this.ctx.keys.id) throw new RefusedError('unknown-commitment', 'no commitment of ours has this id')
    if (tx.commitment.record.body.requester !== remoteParty) throw new RefusedError('unauthorised', 'only the commitment\'s requester may fetch its telemetry')
    const span = settlementMethod(tx.commitment.record.body.settlementMethod)!.span(tx.commitment.record.body.window)
    return { readings: await this.building.readings(span.from, span.to) }
  }

  /** Resumes every transaction the log shows unfinished (after a restart). */
  resume (): void {
    for (const tx of this.ctx.book.txs.values()) {
      if (tx.commitment.record.body.provider !== this.ctx.keys.id) continue
      const status = this.ctx.book.status(tx)
      if (status === 'proposed' || status === 'accepted' || status === 'settling') {
        this.ctx.logger.info({ tx: tx.id, status }, 'resuming transaction')
        void this.drive(tx).catch(err => this.ctx.logger.error({ tx: tx.id, err: (err as Error).message }, 'transaction stalled'))
      }
    }
  }

  stop (): void { this.abort.abort() }
}

function orderOf (tx: Tx): DispatchOrder {
  const c = tx.commitment.record.body
  return { id: tx.id, service: 'demand-response', window: c.window, reductionW: c.quantity.value }
}

export function decodeSettlementAnswer (bytes: Uint8Array): Verified {
  return decodeRecord(bytes, ['grid.settlement', 'grid.dispute'] as const)
}
