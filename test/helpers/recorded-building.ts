// What the recorded-fixture tests of the building's decisions share: time constants, the three
// shipped specs by name, the load forecast, and reading or re-recording a fixture file.
import fc from 'fast-check'
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

/** The arbitraries of a recorded case's moment: time of day, load scale, and each rack's state. */
export function momentFields<R> (racks: Array<fc.Arbitrary<R>>): { hour: fc.Arbitrary<number>, minute: fc.Arbitrary<number>, second: fc.Arbitrary<number>, k: fc.Arbitrary<number>, racks: fc.Arbitrary<R[]> } {
  return {
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 59 }) }),
    k: fc.constantFrom(0.3, 0.6, 1, 1, 1.3),
    racks: fc.tuple(...racks).map(rs => [...rs])
  }
}
