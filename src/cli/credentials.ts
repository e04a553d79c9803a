// Commands for the rules of engagement: keys for accreditors and operators, signing any record
// from a JSON body (governance documents, tariffs, accreditations, revocations, framework
// agreements), countersigning, and handing signed credentials to a node.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { generateKeyPair, readKeyFile, writeKeyFile } from '../identity/keyfile.js'
import { countersign, recordId, signRecord, verifyRecord, type Verified } from '../records/envelope.js'
import { isRecordType, type BodyOf, type RecordType } from '../records/registry.js'
import { readCredentialFile } from '../credentials/import.js'
import { ControlClient } from '../node/control-client.js'

const out = async (record: unknown, file: string | undefined): Promise<void> => {
  const text = JSON.stringify(record, null, 2) + '\n'
  if (file === undefined) process.stdout.write(text)
  else await writeFile(file, text)
}

export function credentialCommands (program: Command): void {
  program.command('keygen')
    .description('Create an Ed25519 key file (mode 0600) for an accreditor, operator or other signer that runs no node')
    .requiredOption('--out <file>', 'key file to create')
    .option('--purpose <text>', 'what the key is for', 'signing key')
    .addHelpText('after', '\nExample:\n  pairgrid keygen --out meter-certifier.key --purpose "meter certifier"')
    .action(async (o: { out: string, purpose: string }) => {
      const keys = generateKeyPair()
      await writeKeyFile(o.out, keys, o.purpose)
      process.stdout.write(JSON.stringify({ file: o.out, party: keys.id }, null, 2) + '\n')
    })

  program.command('sign')
    .description('Sign a record from a JSON body; the body is schema-checked and must name the key\'s party as its signer')
    .requiredOption('--key <file>', 'signer\'s key file (a node\'s keys/party.key, or one from `pairgrid keygen`)')
    .requiredOption('--type <type>', 'record type, e.g. market.governance, credential.accreditation, credential.revocation, market.tariff, market.framework')
    .requiredOption('--body <file>', 'JSON file with the record body')
    .option('--out <file>', 'write the signed record here instead of stdout')
    .addHelpText('after', '\nExample:\n  pairgrid sign --key utility/keys/party.key --type market.governance --body governance.json --out governance.signed.json\nSee docs/joining.md for every body.')
    .action(async (o: { key: string, type: string, body: string, out?: string }) => {
      if (!isRecordType(o.type)) throw new InvalidArgumentError(`unknown record type ${o.type}`)
      const keys = await readKeyFile(o.key)
      const body = JSON.parse(await readFile(o.body, 'utf8')) as BodyOf<RecordType>
      const signed = signRecord(o.type, body, keys)
      // Check what we produced as a receiver would (a framework agreement still lacks its second signature).
      if (o.type !== 'market.framework') verifyRecord(signed.record)
      await out(signed.record, o.out)
    })

  program.command('countersign')
    .description('Add the next signature a record names (a framework agreement\'s provider)')
    .requiredOption('--key <file>', 'countersigner\'s key file')
    .argument('<record>', 'signed record file')
    .option('--out <file>', 'write here instead of stdout')
    .action(async (file: string, o: { key: string, out?: string }) => {
      const record = JSON.parse(await readFile(file, 'utf8')) as Verified['record']
      const signed = countersign({ id: recordId(record), record }, await readKeyFile(o.key))
      verifyRecord(signed.record)
      await out(signed.record, o.out)
    })

  const credentials = program.command('credentials').description('Give a node signed credentials: governance documents, tariffs, accreditations, revocations, agreements')
  credentials.command('add')
    .description('Copy signed credential files into <data>/credentials/ (read at start) and, if the node runs, add and announce them now')
    .requiredOption('--data <dir>', 'the node\'s data directory')
    .argument('<files...>', 'signed record files')
    .addHelpText('after', '\nExample (a revocation reaches every member of the node\'s marketplaces):\n  pairgrid credentials add --data ./utility revocation.json')
    .action(async (files: string[], o: { data: string }) => {
      await mkdir(join(o.data, 'credentials'), { recursive: true, mode: 0o700 })
      const records = []
      for (const f of files) {
        records.push(...(await readCredentialFile(f)).map(v => v.record))
        await copyFile(f, join(o.data, 'credentials', basename(f)))
      }
      let live = 'node not running: read at its next start'
      try {
        const client = await ControlClient.forDataDir(o.data)
        const r = await client.call<{ added: number }>('POST', '/v1/credentials', { records })
        live = `added ${r.added} to the running node`
      } catch (err) {
        if (!/no running node/.test((err as Error).message)) throw err
      }
      process.stdout.write(JSON.stringify({ copied: files.length, live }, null, 2) + '\n')
    })
}
