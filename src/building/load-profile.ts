// SIMULATION. A building's own load as a daily profile: kW by UTC time of day, linearly
// interpolated and wrapped at midnight. The same day repeats forever (no weekdays, seasons or
// weather); `scale` resizes it so buildings of different sizes share one shape. The default
// profile (data/default-load.csv) is a synthetic mid-size office, not a measurement.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { packageRoot } from '../node/package-root.js'
import { DAY_MS, parseTimeOfDay, timeOfDay } from './time-of-day.js'

export interface LoadPoint { todMs: number, w: number }
export interface LoadProfileOptions { scale?: number }

export class LoadProfile {
  readonly scale: number
  private readonly points: readonly LoadPoint[]

  constructor (points: readonly LoadPoint[], options: LoadProfileOptions = {}) {
    const scale = options.scale ?? 1
    if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`load profile scale must be a positive number, got ${scale}`)
    if (points.length === 0) throw new Error('a load profile needs at least one point')
    this.points = points
    this.scale = scale
  }

  /** Parses `time,kW` CSV (HH:MM or HH:MM:SS, UTC); errors name the offending line. */
  static parseCsv (text: string, options: LoadProfileOptions = {}): LoadProfile {
    const lines = text.split(/\r?\n/)
    if (lines[0]?.trim().replace(/\s/g, '') !== 'time,kW') throw new Error(`load profile line 1: expected the header "time,kW", got ${JSON.stringify(lines[0] ?? '')}`)
    const points: LoadPoint[] = []
    lines.forEach((raw, i) => {
      if (i === 0 || raw.trim() === '') return
      const where = `load profile line ${i + 1}`
      const cells = raw.split(',')
      if (cells.length !== 2) throw new Error(`${where}: expected "time,kW", got ${JSON.stringify(raw)}`)
      const todMs = parseTimeOfDay(cells[0]!)
      if (todMs === undefined) throw new Error(`${where}: time ${JSON.stringify(cells[0])} is not HH:MM[:SS] within a day`)
      const kw = cells[1]!.trim() === '' ? Number.NaN : Number(cells[1])
      if (!Number.isFinite(kw) || kw < 0) throw new Error(`${where}: kW ${JSON.stringify(cells[1])} is not a finite number >= 0`)
      const prev = points.at(-1)
      if (prev !== undefined && todMs <= prev.todMs) throw new Error(`${where}: time ${cells[0]!.trim()} does not come after the previous row`)
      points.push({ todMs, w: kw * 1000 })
    })
    if (points.length === 0) throw new Error('load profile: no rows after the header')
    return new LoadProfile(points, options)
  }

  static async fromFile (path: string, options: LoadProfileOptions = {}): Promise<LoadProfile> {
    const text = await readFile(path, 'utf8')
    try {
      return LoadProfile.parseCsv(text, options)
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`)
    }
  }

  static async default (options: LoadProfileOptions = {}): Promise<LoadProfile> {
    return await LoadProfile.fromFile(join(packageRoot(), 'data', 'default-load.csv'), options)
  }

  get size (): number { return this.points.length }

  /** Load in W at simulated time `t` (ms since epoch). */
  powerW (t: number): number {
    const tod = timeOfDay(t)
    const pts = this.points
    // The first point after tod; the segment wraps from the last point through midnight.
    let i = pts.findIndex(p => p.todMs > tod)
    if (i === -1) i = pts.length
    const a = i === 0 ? { todMs: pts.at(-1)!.todMs - DAY_MS, w: pts.at(-1)!.w } : pts[i - 1]!
    const b = i === pts.length ? { todMs: pts[0]!.todMs + DAY_MS, w: pts[0]!.w } : pts[i]!
    const span = b.todMs - a.todMs
    const w = span === 0 ? a.w : a.w + (b.w - a.w) * (tod - a.todMs) / span
    return w * this.scale
  }
}
