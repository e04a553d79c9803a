// Code runs from src/ (vitest) and from dist/src/ (npm start); both find the package by walking up.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the pairgrid package root')
    dir = up
  }
  return dir
}

/** The compiled CLI every child node runs. */
export function cliPath (): string {
  const path = join(packageRoot(), 'dist', 'src', 'cli', 'main.js')
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\``)
  return path
}
