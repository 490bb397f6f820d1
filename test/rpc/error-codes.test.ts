import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VIR_ERR, VIR_FROM } from '../../src/rpc/protocol/error-codes.js';
import { formatVirMessage, toVirErrorFields, virErr } from '../../src/rpc/virerror.js';

const PY = '/usr/bin/python3';

function pythonConstants(): Record<string, number> | null {
  if (!existsSync(PY)) return null;
  try {
    const out = execFileSync(PY, ['-c', 'import libvirt, json; print(json.dumps({k: v for k, v in vars(libvirt).items() if (k.startswith("VIR_ERR_") or k.startswith("VIR_WAR_") or k.startswith("VIR_FROM_")) and isinstance(v, int)}))'], { encoding: 'utf8' });
    return JSON.parse(out) as Record<string, number>;
  } catch {
    return null;
  }
}

describe('libvirt error numbers', () => {
  const py = pythonConstants();
  it.skipIf(py === null)('match the installed python3-libvirt constants', () => {
    for (const [k, v] of Object.entries(VIR_ERR)) expect([k, py?.[k]]).toEqual([k, v]);
    for (const [k, v] of Object.entries(VIR_FROM)) expect([k, py?.[k]]).toEqual([k, v]);
  });

  it('format messages as libvirt does', () => {
    expect(formatVirMessage('VIR_ERR_NO_DOMAIN', "no domain with matching name 'x'")).toBe("Domain not found: no domain with matching name 'x'");
    expect(formatVirMessage('VIR_ERR_NO_SUPPORT', 'virDomainFoo')).toBe('this function is not supported by the connection driver: virDomainFoo');
    expect(virErr('VIR_ERR_OPERATION_DENIED', 'VIR_FROM_DOMAIN', 'read only access prevents virDomainCreate').message).toBe(
      'operation forbidden: read only access prevents virDomainCreate',
    );
  });

  it('turn driver errors with names or numbers into wire fields, anything else into internal errors', () => {
    expect(toVirErrorFields({ code: 'VIR_ERR_XML_ERROR', domain: 'VIR_FROM_BHYVE', message: 'XML error: bad' })).toEqual({
      code: 27, domain: 57, message: 'XML error: bad', level: 2,
    });
    expect(toVirErrorFields({ code: 55, domain: 20, message: 'm' }).code).toBe(55);
    const fs = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect(toVirErrorFields(fs)).toMatchObject({ code: 1, message: 'internal error: ENOENT: no such file' });
    expect(toVirErrorFields('boom').code).toBe(1);
  });
});
