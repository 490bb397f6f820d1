/**
 * POST-code ports (bhyve post.c; bhyve-userland.md §5.3): 0x84 reads 0xFF (bhyve
 * registers it input-only; tsbhyve ignores writes there). Port 0x80 is unclaimed in
 * bhyve; tsbhyve claims it as a POST-code sink (writes kept as `lastCode`, reads 0xFF) so
 * that Linux's port-0x80 I/O delays neither flood the log nor trip `x86.strictio`.
 */
import type { BusDevice } from '../bus/range.js';

export const POST_CODE_PORT = 0x80;
export const POST_DATA_PORT = 0x84;

export class PostPorts {
  lastCode = 0;

  readonly code: BusDevice = {
    name: 'post-code',
    accepts: (_o, size) => size === 1,
    read: () => 0xff,
    write: (_o, _s, v) => {
      this.lastCode = v;
    },
  };

  readonly data: BusDevice = {
    name: 'post-data',
    accepts: (_o, size) => size === 1,
    read: () => 0xff,
    write: () => {},
  };
}
