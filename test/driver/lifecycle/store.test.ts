/** The state store: atomic files, validation of what is read back, autostart links. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync, symlinkSync, mkdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore, checkDomainName, type DomainStatus } from '../../../src/driver/store.js';
import { sweepTempFiles, writeFileAtomic } from '../../../src/driver/atomic-file.js';
import { VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED } from '../../../src/driver/domain-state.js';

let root: string;
let store: StateStore;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvirt-store-'));
  store = new StateStore(root);
  await store.init();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const UUID = '8f3a1c2e-1111-4222-8333-944455556666';

describe('StateStore', () => {
  it('writes and reads back a status record', async () => {
    const s: DomainStatus = { name: 'vm1', uuid: UUID, state: VIR_DOMAIN_RUNNING, reason: VIR_DOMAIN_RUNNING_BOOTED, id: 3, vm: { pid: 10, start: '123' }, pending: { kind: 'shutdown', since: 5 } };
    await store.writeStatus(s);
    expect(await store.readStatus('vm1')).toEqual({ kind: 'ok', status: s });
    expect(await store.listStatusNames()).toEqual(['vm1']);
  });

  it('leaves no temporary files after writes', async () => {
    for (let i = 0; i < 20; i++) await store.writeConfig('vm1', `<domain>${i}</domain>`);
    expect(readdirSync(store.configDir)).toEqual(['vm1.xml']);
    expect(await store.readConfig('vm1')).toEqual({ kind: 'ok', xml: '<domain>19</domain>' });
  });

  it.each([
    ['not JSON', '{"name":"vm1",'],
    ['wrong name', JSON.stringify({ name: 'other', uuid: UUID, state: 5, reason: 0 })],
    ['bad uuid', JSON.stringify({ name: 'vm1', uuid: 'x', state: 5, reason: 0 })],
    ['state out of range', JSON.stringify({ name: 'vm1', uuid: UUID, state: 9, reason: 0 })],
    ['reason out of range', JSON.stringify({ name: 'vm1', uuid: UUID, state: 5, reason: 9 })],
    ['bad id', JSON.stringify({ name: 'vm1', uuid: UUID, state: 1, reason: 1, id: -4 })],
    ['bad process record', JSON.stringify({ name: 'vm1', uuid: UUID, state: 1, reason: 1, vm: { pid: 'x' } })],
    ['bad pending', JSON.stringify({ name: 'vm1', uuid: UUID, state: 1, reason: 1, pending: { kind: 'explode', since: 1 } })],
    ['array', '[]'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ])('reports a corrupt status file (%s) as a value', async (_what, content) => {
    writeFileSync(store.statusPath('vm1'), content);
    const r = await store.readStatus('vm1');
    expect(r.kind).toBe('corrupt');
    if (r.kind === 'corrupt') expect(r.path).toBe(store.statusPath('vm1'));
  });

  it('reports a directory or an empty file in place of a config as corrupt', async () => {
    mkdirSync(store.configPath('dir'));
    writeFileSync(store.configPath('empty'), '');
    expect((await store.readConfig('dir')).kind).toBe('corrupt');
    expect((await store.readConfig('empty')).kind).toBe('corrupt');
    expect((await store.readConfig('absent')).kind).toBe('missing');
  });

  it('lists only well-named config files', async () => {
    await store.writeConfig('a', '<domain/>');
    writeFileSync(join(store.configDir, '.a.xml.tmp-1-abcd'), 'partial');
    writeFileSync(join(store.configDir, 'notes.txt'), 'x');
    expect(await store.listConfigNames()).toEqual(['a']);
  });

  it('makes autostart a symlink to the config, like libvirt', async () => {
    await store.writeConfig('vm1', '<domain/>');
    expect(await store.isAutostart('vm1')).toBe(false);
    await store.setAutostart('vm1', true);
    await store.setAutostart('vm1', true);
    expect(readlinkSync(store.autostartPath('vm1'))).toBe(join('..', 'config', 'vm1.xml'));
    expect(await store.listAutostartNames()).toEqual(['vm1']);
    await store.setAutostart('vm1', false);
    expect(await store.isAutostart('vm1')).toBe(false);
  });

  it('keeps control socket paths within sun_path', () => {
    expect(store.controlSocketPath('vm1', UUID).length).toBeLessThanOrEqual(100);
    const deep = new StateStore(join(root, 'x'.repeat(120)));
    const p = deep.controlSocketPath('vm1', UUID);
    expect(Buffer.byteLength(p)).toBeLessThanOrEqual(108);
    expect(p).toContain(UUID);
  });

  it('checks domain names for use as file names', () => {
    expect(checkDomainName('vm-1.test_x')).toBeUndefined();
    expect(checkDomainName('')).toMatch(/empty/);
    expect(checkDomainName('a/b')).toMatch(/'\/'/);
    expect(checkDomainName('.hidden')).toMatch(/start with/);
    expect(checkDomainName('a\nb')).toMatch(/control/);
    expect(checkDomainName('x'.repeat(201))).toMatch(/200 bytes/);
  });
});

describe('atomic files', () => {
  it('sweeps temporary files of dead writers only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvirt-atomic-'));
    try {
      writeFileSync(join(dir, `.f.tmp-${process.pid}-aaaa`), 'mine');
      writeFileSync(join(dir, '.f.tmp-999999999-bbbb'), 'dead');
      await sweepTempFiles(dir, (pid) => pid === process.pid);
      expect(readdirSync(dir)).toEqual([`.f.tmp-${process.pid}-aaaa`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a symlink target atomically without following a dangling link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvirt-atomic-'));
    try {
      symlinkSync('/nonexistent/target', join(dir, 'f'));
      await writeFileAtomic(join(dir, 'f'), 'data');
      expect(readdirSync(dir)).toEqual(['f']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

