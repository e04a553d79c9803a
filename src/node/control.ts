// The local control API: HTTP on 127.0.0.1 and on a Unix socket in the data dir (mode 0600), every
// call carrying a bearer token that sits in the data dir's control.json (mode 0600), so only the
// operator's account can drive the node. The socket also reaches a node in another network
// namespace on the same machine.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, writeFile, rm } from 'node:fs/promises'
import type { Logger } from 'pino'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { TSchema, Static } from '@sinclair/typebox'

export interface ControlFile { url: string, socket: string, token: string, pid: number }

export class HttpError extends Error {
  constructor (readonly status: number, message: string) { super(message) }
}

export type Route = (req: { params: Record<string, string>, query: URLSearchParams, body: unknown }) => Promise<unknown>

const MAX_BODY = 64 * 1024

export function validated<S extends TSchema> (schema: S, fn: (body: Static<S>) => Promise<unknown>): Route {
  const check = TypeCompiler.Compile(schema)
  return async ({ body }) => {
    if (!check.Check(body)) {
      const e = check.Errors(body).First()
      throw new HttpError(400, `invalid body at ${e?.path ?? '/'}: ${e?.message ?? ''}`)
    }
    return await fn(body)
  }
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new HttpError(413, `body exceeds ${MAX_BODY} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  try { return JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { throw new HttpError(400, 'body is not JSON') }
}

export class ControlServer {
  private readonly servers: Server[] = []
  private readonly token = randomBytes(32).toString('hex')

  constructor (private readonly routes: Record<string, Route>, private readonly controlPath: string, private readonly socketPath: string, private readonly log: Logger) {}

  private async listen (...args: [number, string] | [string]): Promise<Server> {
    const server = createServer((req, res) => { void this.handle(req, res) })
    this.servers.push(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(...args as [number, string], () => resolve())
    })
    return server
  }

  async start (): Promise<ControlFile> {
    const tcp = await this.listen(0, '127.0.0.1')
    const address = tcp.address()
    if (address === null || typeof address === 'string') throw new Error('control API has no TCP address')
    // A socket left by a killed node would refuse the bind.
    await rm(this.socketPath, { force: true })
    await this.listen(this.socketPath)
    await chmod(this.socketPath, 0o600)
    const file: ControlFile = { url: `http://127.0.0.1:${address.port}`, socket: this.socketPath, token: this.token, pid: process.pid }
    await writeFile(this.controlPath, JSON.stringify(file) + '\n', { mode: 0o600 })
    this.log.info({ url: file.url }, 'control API listening')
    return file
  }

  private authorised (req: IncomingMessage): boolean {
    const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''))
    const expected = Buffer.from(this.token)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    let status = 200
    let answer: unknown
    try {
      if (!this.authorised(req)) throw new HttpError(401, 'missing or wrong token: read it from the data dir\'s control.json')
      const match = this.match(`${req.method ?? 'GET'} ${url.pathname}`)
      if (match === undefined) throw new HttpError(404, `no route ${req.method ?? ''} ${url.pathname}`)
      answer = await match.route({ params: match.params, query: url.searchParams, body: await readBody(req) })
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500
      answer = { error: (err as Error).message }
      this.log.warn({ method: req.method, path: url.pathname, status, err: (err as Error).message }, 'control request failed')
    }
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(answer))
  }

  private match (line: string): { route: Route, params: Record<string, string> } | undefined {
    for (const [pattern, route] of Object.entries(this.routes)) {
      const names: string[] = []
      const re = new RegExp('^' + pattern.replace(/:([a-z]+)/g, (_m, n: string) => { names.push(n); return '([^/]+)' }) + '$')
      const m = re.exec(line)
      if (m !== null) return { route, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) }
    }
    return undefined
  }

  async stop (): Promise<void> {
    await rm(this.controlPath, { force: true })
    await Promise.all(this.servers.map(async s => await new Promise<void>(resolve => s.close(() => resolve()))))
    await rm(this.socketPath, { force: true })
  }
}
