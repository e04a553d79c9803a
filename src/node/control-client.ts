// The CLI's side of the control API.
import { readFile } from 'node:fs/promises'
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

  async call<T = unknown> (method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.file.url + path, {
      method,
      headers: { authorization: `Bearer ${this.file.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000)
    })
    const answer = await res.json() as T & { error?: string }
    if (!res.ok) throw new Error(`node answered ${res.status}: ${answer.error ?? 'error'}`)
    return answer
  }
}
