import { describe, expect, it } from 'vitest';
import { domainToBhyveArgv, domainToBhyveConfig, LIBVIRT_TEST_CAPS } from '../../src/driver/index.js';
import { libvirtBase } from './helpers/domain.js';

const libvirtOpts = { caps: LIBVIRT_TEST_CAPS, paths: { bhyve: 'bhyve', bhyveload: 'bhyveload' }, tapName: () => 'faketapdev' };

describe('smoke', () => {
  it('translates libvirt base', () => {
    const r = domainToBhyveArgv(libvirtBase(), libvirtOpts);
    expect(r.bhyve.join(' ')).toBe(
      'bhyve -c 1 -m 214 -u -H -P -s 0:0,hostbridge -s 2:0,ahci,hd:/tmp/freebsd.img -s 3:0,virtio-net,faketapdev,mac=52:54:00:b9:94:02 bhyve',
    );
    expect(r.loader?.join(' ')).toBe('bhyveload -m 214 -d /tmp/freebsd.img bhyve');
  });
});
