// Commands that act on a running node through its control API.
import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { ControlClient } from '../node/control-client.js'

const print = (value: unknown): void => { process.stdout.write(JSON.stringify(value, null, 2) + '\n') }

export function opsCommands (program: Command): void {
  program.command('status')
    .description('Show a running node\'s status')
    .requiredOption('--data <dir>', 'the node\'s data directory')
    .action(async (opts: { data: string }) => {
      print(await (await ControlClient.forDataDir(opts.data)).call('GET', '/v1/status'))
    })

  program.command('request')
    .description('Publish a signed service request from a running requester node')
    .requiredOption('--data <dir>', 'the requester node\'s data directory')
    .requiredOption('--marketplace <id>', 'marketplace to publish on')
    .option('--service <type>', 'service type', 'demand-response')
    .requiredOption('--start <iso>', 'window start (ISO 8601, whole minute)')
    .requiredOption('--minutes <n>', 'window length in minutes')
    .requiredOption('--kw <n>', 'quantity in kW')
    .option('--rate <minor>', 'price in minor units per MWh', '150000')
    .option('--currency <code>', 'ISO 4217 currency', 'USD')
    .option('--tariff <ref>', 'tariff reference', 'tariff/default')
    .option('--method <id>', 'settlement method', 'pairgrid/dr-mbe/1')
    .option('--tolerance-bp <n>', 'tolerance in basis points', '1000')
    .addHelpText('after', '\nExample:\n  pairgrid request --data ./utility --marketplace utility-dr --start 2026-11-21T15:00:00Z --minutes 15 --kw 50')
    .action(async (o: { data: string, marketplace: string, service: string, start: string, minutes: string, kw: string, rate: string, currency: string, tariff: string, method: string, toleranceBp: string }) => {
      const start = Date.parse(o.start)
      if (Number.isNaN(start)) throw new Error(`--start ${o.start} is not an ISO 8601 time`)
      const client = await ControlClient.forDataDir(o.data)
      print(await client.call('POST', '/v1/requests', {
        marketplace: o.marketplace,
        service: o.service,
        window: { start, end: start + Number(o.minutes) * 60_000 },
        quantity: { value: Math.round(Number(o.kw) * 1000), unit: 'W' },
        price: { mechanism: 'tariff', reference: o.tariff, currency: o.currency, rate: Number(o.rate), rateUnit: 'MWh' },
        settlementMethod: o.method,
        toleranceBp: Number(o.toleranceBp)
      }))
    })

  /** The energy block and price flags offers and bids share. */
  const blockFlags = (cmd: Command): Command => cmd
    .requiredOption('--data <dir>', 'the node\'s data directory')
    .requiredOption('--marketplace <id>', 'marketplace to publish on')
    .requiredOption('--start <iso>', 'block start (ISO 8601, on the block grid)')
    .option('--minutes <n>', 'block length: 5, 15 or 60', '15')
    .requiredOption('--wh <n>', 'energy in Wh')
    .requiredOption('--rate <minor>', 'price in minor units per MWh')
    .option('--currency <code>', 'ISO 4217 currency', 'USD')
  const blockBody = (o: { marketplace: string, start: string, minutes: string, wh: string, rate: string, currency: string }): Record<string, unknown> => {
    const start = Date.parse(o.start)
    if (Number.isNaN(start)) throw new Error(`--start ${o.start} is not an ISO 8601 time`)
    return { marketplace: o.marketplace, block: { start, minutes: Number(o.minutes) }, quantityWh: Number(o.wh), price: { currency: o.currency, rate: Number(o.rate) } }
  }

  blockFlags(program.command('offer'))
    .description('Publish a signed offer of locally produced energy (the Exergy payload is derived from the meter)')
    .option('--for-coupling <class[:subclass]>', 'reserve the offer for a load coupling, e.g. stored:ev')
    .addHelpText('after', '\nExample:\n  pairgrid offer --data ./pv --marketplace <id> --start 2026-11-21T12:30:00Z --minutes 15 --wh 10000 --rate 8000')
    .action(async (o: { data: string, marketplace: string, start: string, minutes: string, wh: string, rate: string, currency: string, forCoupling?: string }) => {
      const [cls, sub] = (o.forCoupling ?? '').split(':')
      print(await (await ControlClient.forDataDir(o.data)).call('POST', '/v1/trade/offers', {
        ...blockBody(o), ...(o.forCoupling !== undefined ? { forCoupling: { class: cls, ...(sub !== undefined ? { subclass: sub } : {}) } } : {})
      }))
    })

  blockFlags(program.command('bid'))
    .description('Publish a signed bid for energy; producers answer with an offer referencing it')
    .option('--zero-carbon', 'only zero-carbon generation')
    .option('--same-feeder', 'only producers on our feeder')
    .addHelpText('after', '\nExample:\n  pairgrid bid --data ./building --marketplace <id> --start 2026-11-21T13:00:00Z --wh 4000 --rate 9500 --zero-carbon')
    .action(async (o: { data: string, marketplace: string, start: string, minutes: string, wh: string, rate: string, currency: string, zeroCarbon?: boolean, sameFeeder?: boolean }) => {
      print(await (await ControlClient.forDataDir(o.data)).call('POST', '/v1/trade/bids', { ...blockBody(o), zeroCarbonOnly: o.zeroCarbon === true, sameFeederOnly: o.sameFeeder === true }))
    })

  program.command('trades')
    .description('List a running node\'s energy trades, its certificates and its net position')
    .requiredOption('--data <dir>', 'the node\'s data directory')
    .action(async (o: { data: string }) => {
      const client = await ControlClient.forDataDir(o.data)
      print({ trades: await client.call('GET', '/v1/trade/trades'), position: await client.call('GET', '/v1/trade/position') })
    })

  program.command('log')
    .description('List a running node\'s log records, filtered by transaction, type or counterparty')
    .requiredOption('--data <dir>', 'the node\'s data directory')
    .option('--tx <id>', 'records of this transaction (commitment id) or referencing this id')
    .option('--type <type>', 'record type, e.g. grid.settlement')
    .option('--party <id>', 'records naming this party')
    .option('--limit <n>', 'at most this many records', '1000')
    .action(async (o: { data: string, tx?: string, type?: string, party?: string, limit: string }) => {
      const q = new URLSearchParams({ limit: o.limit, ...(o.tx !== undefined ? { tx: o.tx } : {}), ...(o.type !== undefined ? { type: o.type } : {}), ...(o.party !== undefined ? { party: o.party } : {}) })
      print(await (await ControlClient.forDataDir(o.data)).call('GET', `/v1/log?${q.toString()}`))
    })

  program.command('transactions')
    .description('List a running node\'s transactions and their states')
    .requiredOption('--data <dir>', 'the node\'s data directory')
    .action(async (o: { data: string }) => {
      print(await (await ControlClient.forDataDir(o.data)).call('GET', '/v1/transactions'))
    })

  program.command('export')
    .description('Export a transaction\'s audit bundle from a running node')
    .requiredOption('--data <dir>', 'the node\'s data directory')
    .requiredOption('--tx <id>', 'transaction id (the commitment\'s record id)')
    .option('--out <file>', 'write the bundle here instead of stdout')
    .action(async (o: { data: string, tx: string, out?: string }) => {
      const bundle = await (await ControlClient.forDataDir(o.data)).call('GET', `/v1/transactions/${o.tx}/bundle`)
      if (o.out === undefined) print(bundle)
      else await writeFile(o.out, JSON.stringify(bundle, null, 2) + '\n')
    })
}
