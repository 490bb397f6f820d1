/**
 * libvirt error values (src/xml/errors.ts, src/xml/error-codes.ts): the numbers match
 * libvirt's (python3-libvirt 9.0 when installed), messages are formatted as virErrorMsg
 * does, and anything thrown becomes a VirError — driver errors kept, the rest internal.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  VIR_ERR,
  VIR_ERR_NO_DOMAIN,
  VIR_FROM,
  VIR_FROM_BHYVE,
  VirError,
  formatVirMessage,
  isVirError,
  toVirError,
  virErr,
  virErrorName,
} from '../../src/xml/errors.js';
import * as errors from '../../src/xml/errors.js';
import { RemoteCallError } from '../../src/rpc/client.js';

const PY = '/usr/bin/python3';

function pythonConstants(): Record<string, number> | null {
  if (!existsSync(PY)) return null;
  try {
    const out = execFileSync(
      PY,
      ['-c', 'import libvirt, json; print(json.dumps({k: v for k, v in vars(libvirt).items() if (k.startswith("VIR_ERR_") or k.startswith("VIR_WAR_") or k.startswith("VIR_FROM_")) and isinstance(v, int)}))'],
      { encoding: 'utf8' },
    );
    return JSON.parse(out) as Record<string, number>;
  } catch {
    return null;
  }
}

describe('libvirt error numbers', () => {
  const py = pythonConstants();
  it.skipIf(py === null)('match the installed python3-libvirt constants, every one of them', () => {
    for (const [k, v] of Object.entries(VIR_ERR)) expect([k, py?.[k]]).toEqual([k, v]);
    for (const [k, v] of Object.entries(VIR_FROM)) expect([k, py?.[k]]).toEqual([k, v]);
    // and the tables leave none out (the VIR_ERR_NONE/WARNING/ERROR levels aside)
    const levels = new Set(['VIR_ERR_NONE', 'VIR_ERR_WARNING', 'VIR_ERR_ERROR']);
    for (const [k, v] of Object.entries(py!)) {
      if (levels.has(k)) expect((errors as Record<string, unknown>)[k]).toBe(v);
      else if (k.startsWith('VIR_FROM_')) expect([k, (VIR_FROM as Record<string, number>)[k]]).toEqual([k, v]);
      else expect([k, (VIR_ERR as Record<string, number>)[k]]).toEqual([k, v]);
    }
  });

  it('has a named constant for every table entry, and names for numbers', () => {
    for (const [k, v] of Object.entries({ ...VIR_ERR, ...VIR_FROM })) expect([k, (errors as Record<string, unknown>)[k]]).toEqual([k, v]);
    expect(virErrorName(VIR_ERR_NO_DOMAIN)).toBe('VIR_ERR_NO_DOMAIN');
    expect(virErrorName(100000)).toBeUndefined();
    expect(virErrorName(-1)).toBeUndefined();
  });
});

describe('libvirt error messages', () => {
  it('are formatted as libvirt does', () => {
    expect(formatVirMessage('VIR_ERR_NO_DOMAIN', "no domain with matching name 'x'")).toBe("Domain not found: no domain with matching name 'x'");
    expect(formatVirMessage('VIR_ERR_NO_SUPPORT', 'virDomainFoo')).toBe('this function is not supported by the connection driver: virDomainFoo');
    expect(formatVirMessage('VIR_ERR_INVALID_CONN', 'virConnectClose')).toBe('invalid connection pointer in virConnectClose');
    expect(formatVirMessage('VIR_ERR_OPERATION_INVALID')).toBe('Requested operation is not valid');
    expect(formatVirMessage('VIR_ERR_DOM_EXIST', 'domain x already exists')).toBe('domain x already exists');
    const e = virErr('VIR_ERR_OPERATION_DENIED', 'VIR_FROM_DOMAIN', 'read only access prevents virDomainCreate');
    expect(e).toBeInstanceOf(VirError);
    expect(e.toJSON()).toEqual({ code: 29, domain: 20, level: 2, message: 'operation forbidden: read only access prevents virDomainCreate' });
  });
});

describe('toVirError', () => {
  it('keeps VirErrors, including errors a server sent', () => {
    const e = virErr('VIR_ERR_CONFIG_UNSUPPORTED', 'VIR_FROM_BHYVE', 'x');
    expect(toVirError(e)).toBe(e);
    const remote = new RemoteCallError(42, 20, 'Domain not found');
    expect(isVirError(remote)).toBe(true);
    expect(toVirError(remote)).toBe(remote);
  });

  it('turns objects carrying libvirt codes (numbers or names) into VirErrors', () => {
    expect(toVirError({ code: 'VIR_ERR_XML_ERROR', domain: 'VIR_FROM_BHYVE', message: 'XML error: bad' }).toJSON()).toEqual({
      code: 27,
      domain: VIR_FROM_BHYVE,
      message: 'XML error: bad',
      level: 2,
    });
    expect(toVirError({ code: 55, domain: 20, message: 'm' }).code).toBe(55);
    expect(toVirError({ code: 42 }).message).toBe('Domain not found');
  });

  it('turns everything else into VIR_ERR_INTERNAL_ERROR with its message', () => {
    const fs = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect(toVirError(fs).toJSON()).toMatchObject({ code: 1, domain: 0, message: 'internal error: ENOENT: no such file' });
    expect(toVirError('boom').message).toBe('internal error: boom');
    expect(toVirError({ code: 99999, message: 'unknown code' }).code).toBe(1);
    expect(toVirError(null).code).toBe(1);
  });
});
