/** Connection URIs and the default connection choice (no side effects: pure functions). */
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDaemonSocket, defaultEmbedRoot, embedUri, parseBhyveUri } from '../../../src/driver/uri.js';
import { remoteTarget, resolveUri } from '../../../src/cli/tsvirsh/conn.js';

describe('bhyve URIs', () => {
  it.each([
    ['bhyve:///embed?root=/var/tmp/x', { kind: 'embed', root: '/var/tmp/x', uri: 'bhyve:///embed?root=/var/tmp/x' }],
    ['bhyve:///embed?root=/var/tmp/x/', { kind: 'embed', root: '/var/tmp/x', uri: 'bhyve:///embed?root=/var/tmp/x' }],
    ['bhyve:///embed?root=/a%20b', { kind: 'embed', root: '/a b', uri: 'bhyve:///embed?root=/a%20b' }],
    ['bhyve:///system', { kind: 'daemon', instance: 'system', socket: undefined, uri: 'bhyve:///system' }],
    ['bhyve:///session/', { kind: 'daemon', instance: 'session', socket: undefined, uri: 'bhyve:///session' }],
    ['bhyve+unix:///system?socket=/run/x/sock', { kind: 'daemon', instance: 'system', socket: '/run/x/sock', uri: 'bhyve:///system' }],
  ])('%s', (uri, want) => {
    expect(parseBhyveUri(uri)).toEqual(want);
  });

  it('leaves other drivers alone', () => {
    expect(parseBhyveUri('qemu:///system')).toBeUndefined();
    expect(parseBhyveUri('test:///default')).toBeUndefined();
    expect(parseBhyveUri('not a uri')).toBeUndefined();
  });

  it.each([
    ['bhyve:///embed', /needs a 'root'/],
    ['bhyve:///embed?root=rel', /relative root/],
    ['bhyve:///embed?root=/x&foo=1', /unknown parameter 'foo'/],
    ['bhyve+ssh://h/system', /transport 'ssh'/],
    ['bhyve://h/system', /remote host/],
    ['bhyve:///nonsense', /unknown path/],
    ['bhyve+unix:///system?socket=rel', /relative socket/],
  ])('refuses %s', (uri, why) => {
    expect(() => parseBhyveUri(uri)).toThrow(why);
  });

  it('round-trips the embedded URI of a root', () => {
    const u = embedUri('/srv/vm state');
    expect(parseBhyveUri(u)).toMatchObject({ kind: 'embed', root: '/srv/vm state' });
  });
});

describe('default connection', () => {
  it('per-user root: XDG_STATE_HOME, else ~/.local/state; root user: /var/lib/tsvirt/embed', () => {
    expect(defaultEmbedRoot({ HOME: '/home/u' }, 1000)).toBe('/home/u/.local/state/tsvirt/embed');
    expect(defaultEmbedRoot({ HOME: '/home/u', XDG_STATE_HOME: '/s' }, 1000)).toBe('/s/tsvirt/embed');
    expect(defaultEmbedRoot({ HOME: '/home/u', XDG_STATE_HOME: 'relative' }, 1000)).toBe('/home/u/.local/state/tsvirt/embed');
    expect(defaultEmbedRoot({ HOME: '/root' }, 0)).toBe('/var/lib/tsvirt/embed');
    expect(defaultDaemonSocket('session', { XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).toBe('/run/user/1000/tsvirt/tsvirt-sock');
    expect(defaultDaemonSocket('system', {}, 0)).toBe('/run/tsvirt/tsvirt-sock');
  });

  it('virsh order: -c, VIRSH_DEFAULT_CONNECT_URI, LIBVIRT_DEFAULT_URI, daemon socket, embedded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvirt-uri-'));
    try {
      const env = { HOME: '/home/u', XDG_RUNTIME_DIR: dir };
      expect(resolveUri(undefined, env, 1000)).toBe('bhyve:///embed?root=/home/u/.local/state/tsvirt/embed');
      mkdirSync(join(dir, 'tsvirt'));
      writeFileSync(join(dir, 'tsvirt', 'tsvirt-sock'), '');
      expect(resolveUri(undefined, env, 1000)).toBe('bhyve:///session');
      expect(resolveUri(undefined, { ...env, LIBVIRT_DEFAULT_URI: 'test:///default' }, 1000)).toBe('test:///default');
      expect(resolveUri(undefined, { ...env, LIBVIRT_DEFAULT_URI: 'a', VIRSH_DEFAULT_CONNECT_URI: 'b' }, 1000)).toBe('b');
      expect(resolveUri('c', { ...env, LIBVIRT_DEFAULT_URI: 'a', VIRSH_DEFAULT_CONNECT_URI: 'b' }, 1000)).toBe('c');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('daemon targets', () => {
  it.each([
    ['bhyve+unix:///system?socket=/x/s', { socket: '/x/s', name: 'bhyve:///system' }],
    ['bhyve:///system', { socket: '/run/tsvirt/tsvirt-sock', name: 'bhyve:///system' }],
    ['bhyve:///session', { socket: '/run/user/7/tsvirt/tsvirt-sock', name: 'bhyve:///session' }],
    ['qemu:///system', { socket: '/var/run/libvirt/libvirt-sock', name: 'qemu:///system' }],
    ['test+unix:///default?socket=/tmp/l.sock', { socket: '/tmp/l.sock', name: 'test:///default' }],
    ['qemu:///session', { socket: '/run/user/7/libvirt/libvirt-sock', name: 'qemu:///session' }],
  ])('%s', (uri, want) => {
    expect(remoteTarget(uri, { XDG_RUNTIME_DIR: '/run/user/7' })).toEqual(want);
  });
  it('refuses remote transports', () => {
    expect(() => remoteTarget('qemu+ssh://host/system')).toThrow(/needs a remote transport/);
    expect(() => remoteTarget('qemu+tcp:///system')).toThrow(/needs a remote transport/);
  });
});
