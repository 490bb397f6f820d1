/**
 * The environment the driver gives the processes it starts (supervisor, VM process):
 * the caller's plus `<bhyve:env>`, without NODE_EXTRA_CA_CERTS (parsed by Node at start-up,
 * unused by processes that make no TLS connection) unless the domain asks for it.
 */
import { describe, expect, it } from 'vitest';
import { childEnv } from '../../src/driver/process.js';

describe('childEnv', () => {
  const base = { PATH: '/usr/bin', HOME: '/root', NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', LANG: 'C' };

  it('keeps the caller environment but drops NODE_EXTRA_CA_CERTS', () => {
    const env = childEnv({}, base);
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root', LANG: 'C' });
    expect('NODE_EXTRA_CA_CERTS' in env).toBe(false);
    expect(base.NODE_EXTRA_CA_CERTS).toBe('/etc/ssl/certs/ca-certificates.crt'); // the caller's is untouched
  });

  it('adds the domain environment on top, which may set NODE_EXTRA_CA_CERTS explicitly', () => {
    expect(childEnv({ LANG: 'fr_FR.UTF-8', FOO: 'bar' }, base)).toEqual({ PATH: '/usr/bin', HOME: '/root', LANG: 'fr_FR.UTF-8', FOO: 'bar' });
    expect(childEnv({ NODE_EXTRA_CA_CERTS: '/x.pem' }, base).NODE_EXTRA_CA_CERTS).toBe('/x.pem');
  });
});
