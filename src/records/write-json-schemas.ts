// Writes protocols/schemas/*.schema.json from the TypeBox schemas: `npm run schemas`.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jsonSchemas, schemaFileText } from './json-schemas.js'

const here = dirname(fileURLToPath(import.meta.url))
// src/records/ or dist/src/records/: the repository root is the nearest parent holding protocols/.
const root = resolve(here, here.includes(`${join('dist', 'src')}`) ? '../../..' : '../..')
const dir = join(root, 'protocols', 'schemas')

const schemas = jsonSchemas()
await mkdir(dir, { recursive: true })
for (const name of await readdir(dir)) {
  if (name.endsWith('.schema.json') && !(name in schemas)) await rm(join(dir, name))
}
for (const [name, schema] of Object.entries(schemas)) await writeFile(join(dir, name), schemaFileText(schema))
process.stdout.write(`wrote ${Object.keys(schemas).length} schemas to ${dir}\n`)
