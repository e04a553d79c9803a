#!/usr/bin/env node
// The `pairgrid` command.
import '../polyfill.js'
import { Command, Option, InvalidArgumentError } from 'commander'
import { startCommand } from './start.js'
import { runDevnet } from './devnet/devnet.js'
import { verifyBundleFile, verifyDataDir } from './verify.js'
import { initNode } from '../node/init.js'
import { opsCommands } from './ops.js'
import { credentialCommands } from './credentials.js'
import { readFile } from 'node:fs/promises'
import { namedBuildingSpec } from '../building/spec.js'
import type { PartyKind } from '../records/credential-schemas.js'
import { operatorPassphrase } from '../identity/keyfile.js'

const program = new Command()
program.name('pairgrid')
  .description('Peer-to-peer energy marketplace node: pair-settled grid services between buildings and their counterparties, every step a signed record in each party\'s own log.')
  .showHelpAfterError('(run with --help for usage)')

const positive = (v: string): number => {
  const n = Number(v)
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number')
  return n
}
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v]

program.command('devnet')
  .description('Run a local devnet: every party of a scenario as its own OS process, then verify every audit bundle')
  .option('--scenario <file>', 'scenario file (default: devnet/default.json; smaller ones beside it)')
  .option('--out <dir>', 'write summary.json and every audit bundle here')
  .option('--data <dir>', 'keep node data dirs here (reused on the next run); default: a temp dir removed at exit')
  .option('--speed <x>', 'simulated seconds per wall second (default: the scenario\'s)', positive)
  .addHelpText('after', '\nExamples:\n  pairgrid devnet\n  pairgrid devnet --out out --speed 240\n  pairgrid devnet --scenario devnet/slice.json --data .devnet')
  .action(async (opts: { scenario?: string, out?: string, data?: string, speed?: number }) => {
    process.exitCode = await runDevnet(opts)
  })

program.command('init')
  .description('Create a node data dir: keys (mode 0600), and config')
  .requiredOption('--data <dir>', 'data directory to create')
  .requiredOption('--name <name>', 'node name (lowercase letters, digits, dashes)')
  .addOption(new Option('--kind <kind>', 'what kind of party this node is').choices(['distribution-utility', 'iso-rto', 'community-energy', 'peer-facility', 'building', 'ev-site']).makeOptionMandatory())
  .addOption(new Option('--building <spec>', 'the (simulated) building this party operates: a shipped spec name or a JSON file; makes it a provider of grid services').default(undefined))
  .option('--feeder <id>', 'distribution feeder the party connects to', 'feeder-1')
  .option('--marketplace <id>', 'governance record id of a marketplace to join (repeatable); its signed governance document goes in <data>/credentials/', collect)
  .option('--listen <multiaddr>', 'listen address (repeatable)', collect)
  .option('--bootstrap <multiaddr>', 'peer to dial at start (repeatable)', collect)
  .option('--meter-interval <ms>', 'meter reading interval (building)', positive, 2_000)
  .option('--encrypt-keys', 'encrypt the key files with the passphrase in PAIRGRID_PASSPHRASE (scrypt + AES-256-GCM); every later command reads it from there')
  .addHelpText('after', '\nExamples:\n  pairgrid init --data ./utility --name utility --kind distribution-utility\n  pairgrid init --data ./building --name building --kind building --building default --marketplace <governance id>')
  .action(async (opts: { data: string, name: string, kind: PartyKind, building?: string, feeder: string, marketplace?: string[], listen?: string[], bootstrap?: string[], meterInterval: number, encryptKeys?: boolean }) => {
    const passphrase = opts.encryptKeys === true ? operatorPassphrase() : undefined
    if (opts.encryptKeys === true && passphrase === undefined) throw new InvalidArgumentError('--encrypt-keys needs the passphrase in the PAIRGRID_PASSPHRASE environment variable')
    const building = opts.building === undefined ? undefined : /\.json$/.test(opts.building) ? JSON.parse(await readFile(opts.building, 'utf8')) as unknown : namedBuildingSpec(opts.building)
    const ids = await initNode(opts.data, {
      name: opts.name, kind: opts.kind, location: { feeder: opts.feeder, node: opts.name, latE6: 0, lonE6: 0 },
      listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'], bootstrap: opts.bootstrap ?? [],
      marketplaces: opts.marketplace ?? [], meterIntervalMs: opts.meterInterval,
      ...(building !== undefined ? { building } : {})
    }, passphrase)
    process.stdout.write(JSON.stringify({ data: opts.data, ...ids }, null, 2) + '\n')
  })

program.command('start')
  .description('Run a node in the foreground (stop with Ctrl-C)')
  .requiredOption('--data <dir>', 'data directory made by `pairgrid init`')
  .option('--listen <multiaddr>', 'listen address, overrides config (repeatable)', collect)
  .option('--bootstrap <multiaddr>', 'peer to dial, overrides config (repeatable)', collect)
  .option('--speed <x>', 'simulated time speed (1 = real time)', positive, 1)
  .option('--clock-origin <wall:sim>', 'share a simulated clock: wall ms at which simulated time was sim ms')
  .addOption(new Option('--log-format <format>', 'log format').choices(['json', 'pretty']).default(process.stderr.isTTY ? 'pretty' : 'json'))
  .option('--log-level <level>', 'log level', 'info')
  .addHelpText('after', '\nExample:\n  pairgrid start --data ./building --bootstrap /ip4/127.0.0.1/tcp/40001/p2p/12D3Koo...')
  .action(async (opts: { data: string, listen?: string[], bootstrap?: string[], speed: number, clockOrigin?: string, logFormat: 'json' | 'pretty', logLevel: string }) => {
    await startCommand(opts)
  })

program.command('verify')
  .description('Verify an audit bundle offline, or a node\'s whole log (--data)')
  .argument('[bundle]', 'audit bundle JSON file')
  .option('--data <dir>', 'verify the log of this (stopped) node instead')
  .addHelpText('after', '\nExamples:\n  pairgrid verify out/bundles/<tx>.json\n  pairgrid verify --data ./building')
  .action(async (bundle: string | undefined, opts: { data?: string }) => {
    if (opts.data !== undefined) {
      const r = await verifyDataDir(opts.data)
      process.stdout.write(JSON.stringify(r, null, 2) + '\n')
      process.exitCode = r.ok ? 0 : 1
      return
    }
    if (bundle === undefined) throw new InvalidArgumentError('give a bundle file or --data <dir>')
    const verdict = await verifyBundleFile(bundle)
    if (verdict.ok) {
      process.stdout.write(JSON.stringify({ ok: true, ...verdict.summary }, null, 2) + '\n')
    } else {
      process.stderr.write(`verification failed: ${verdict.fault}\n`)
      process.exitCode = 1
    }
  })

opsCommands(program)
credentialCommands(program)

program.parseAsync().catch((err: Error) => {
  process.stderr.write(`pairgrid: ${err.message}\n`)
  process.exitCode = 1
})
