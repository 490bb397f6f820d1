/**
 * An empty DomainDef as libvirt's virDomainDefNew leaves it before anything is filled:
 * the values libvirt formats when nothing was given (`placement='static'`, `destroy` for
 * every lifecycle action, offset `utc`) and empty device lists. The command-line parser
 * starts from it; so do tests that build definitions by hand.
 */

import { emptyDevices } from '../xml/domain/devices.js';
import type { DomainDef } from '../xml/types.js';

export function emptyDomainDef(name = ''): DomainDef {
  return {
    type: 'bhyve',
    name,
    uuid: '00000000-0000-0000-0000-000000000000',
    memory: 0,
    currentMemory: 0,
    vcpu: { count: 1, placement: 'static' },
    os: { type: 'hvm', boots: [] },
    clock: { offset: 'utc', timers: [] },
    on_poweroff: 'destroy',
    on_reboot: 'destroy',
    on_crash: 'destroy',
    devices: emptyDevices(),
    passthrough: {},
  };
}
