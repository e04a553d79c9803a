// Layout of a node's data directory.
import { join } from 'node:path'

export function dataPaths (dir: string): { config: string, partyKey: string, meterKey: string, db: string, control: string, controlSocket: string, log: string } {
  return {
    config: join(dir, 'config.json'),
    partyKey: join(dir, 'keys', 'party.key'),
    meterKey: join(dir, 'keys', 'meter.key'),
    db: join(dir, 'db'),
    control: join(dir, 'control.json'),
    controlSocket: join(dir, 'control.sock'),
    log: join(dir, 'node.log')
  }
}
