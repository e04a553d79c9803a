// The CLI's side of the control API.
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { dataPaths } from './data-dir.js'
import type { ControlFile } from './control.js'

export class ControlClient {
  private constructor (private readonly file: ControlFile) {}

  static async forDataDir (dir: string): Promise<ControlClient> {
    let text: string
    try {
      text = await readFile(dataPaths(dir).control, 'utf8')
    } catch {
      throw new Error(`no running node found for ${dir} (no control.json): start it with \`pairgrid start --data ${dir}\``)
    }
    return new ControlClient(JSON.parse(text) as ControlFile)
  }

  get pid (): number { return this.file.pid }

  /** Calls the node over its Unix socket (it works across network namespaces on one machine). */
  async call<T = unknown> (method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const { status, text } = await new Promise<{ status: number, text: string }>((resolve, reject) => {
      const req = request({
        socketPath: this.file.socket,
        path,
        method,
        headers: { authorization: `Bearer ${this.file.token}`, 'content-type': 'application/json', ...(payload !== undefined ? { 'content-length': Buffer.byteLength(payload) } : {}) },
        signal: AbortSignal.timeout(30_000)
      }, res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(payload)
    })
    const answer = JSON.parse(text) as T & { error?: string }
    if (status < 200 || status >= 300) throw new Error(`node answered ${status}: ${answer.error ?? 'error'}`)
    return answer
  }
}
