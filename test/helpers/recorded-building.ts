// What the recorded-fixture tests of the building's decisions share: time constants, the three
// shipped specs by name, the load forecast, and reading or re-recording a fixture file.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LoadProfile } from '../../src/building/load-profile.js'
import { defaultBuildingSpec, fineBuildingSpec, smallBuildingSpec, type BuildingSpec } from '../../src/building/spec.js'

export const H = 3_600_000
export const MIN = 60_000
export const DAY0 = Date.UTC(2026, 5, 10)
export const profile = await LoadProfile.default()

export type SpecName = 'default' | 'fine' | 'small'
export const specOf = (name: SpecName): BuildingSpec => name === 'default' ? defaultBuildingSpec() : name === 'fine' ? fineBuildingSpec() : smallBuildingSpec()
export const forecast = (spec: BuildingSpec, k: number) => (t: number): number => profile.powerW(t) * spec.loadScale * k

/** A fixture under test/fixtures: `recording` when `envVar` is 1 (then `save` writes it), else `load` reads it. */
export function recordedFixture<T> (file: string, envVar: string): { recording: boolean, load: () => T | undefined, save: (value: T) => void } {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', file)
  return {
    recording: process.env[envVar] === '1',
    load: () => existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as T : undefined,
    save: (value) => {
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, JSON.stringify(value) + '\n')
    }
  }
}
