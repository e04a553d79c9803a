// The control API's routes over a running node.
import { HttpError, validated, type Route } from './control.js'
import { PublishRequestInput } from './control-schemas.js'
import type { PairgridNode } from './node.js'
import { isRecordType } from '../records/registry.js'
import { verifyRecord } from '../records/envelope.js'
import { CREDENTIAL_TYPES } from '../credentials/store.js'
import { tradeRoutes } from '../trade/routes.js'

export function controlRoutes (node: PairgridNode): Record<string, Route> {
  return {
    ...tradeRoutes(node),
    'GET /v1/status': async () => node.status(),
    'GET /v1/transactions': async () => node.transactions(),
    'GET /v1/transactions/:id/bundle': async ({ params }) => {
      const bundle = await node.bundle(params.id!)
      if (bundle === undefined) throw new HttpError(404, `no transaction ${params.id}`)
      return bundle
    },
    'GET /v1/log': async ({ query }) => {
      const type = query.get('type')
      const tx = query.get('tx')
      const party = query.get('party')
      const limit = Number(query.get('limit') ?? 1000)
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new HttpError(400, 'limit must be an integer from 1 to 10000')
      if (type !== null && !isRecordType(type)) throw new HttpError(400, `unknown record type ${type}`)
      return await node.log.select({ ...(type !== null ? { type } : {}), ...(tx !== null ? { tx } : {}), ...(party !== null ? { party } : {}) }, limit)
    },
    'POST /v1/credentials': async ({ body }) => {
      const records = (body as { records?: unknown })?.records
      if (!Array.isArray(records) || records.length === 0 || records.length > 256) throw new HttpError(400, 'body must be {"records": [1..256 signed credential records]}')
      let verified
      try {
        verified = records.map(r => verifyRecord(r, CREDENTIAL_TYPES))
      } catch (err) {
        throw new HttpError(400, `a record does not verify: ${(err as Error).message}`)
      }
      return { added: await node.credentials.add(verified) }
    },
    'POST /v1/requests': validated(PublishRequestInput, async (input) => {
      if (!node.config.marketplaces.includes(input.marketplace)) throw new HttpError(400, `${node.config.name} is not in marketplace ${input.marketplace}`)
      if (input.window.end <= input.window.start) throw new HttpError(400, 'window.end must be after window.start')
      const expiresAt = input.expiresAt ?? input.window.start
      if (expiresAt <= node.clock.now()) throw new HttpError(400, 'the request would already be expired: move the window later')
      const published = await node.requester.publish({
        ...input,
        settlementIntervalMs: input.settlementIntervalMs ?? (input.window.end - input.window.start),
        expiresAt
      }).catch((err: Error) => { throw new HttpError(409, err.message) })
      return { id: published.id, request: published.record }
    })
  }
}
