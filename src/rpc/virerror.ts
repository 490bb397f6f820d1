/**
 * libvirt-style errors as they cross the RPC boundary: (code, domain, message, level), the
 * fields of `remote_error` that clients show ("error: Domain not found: no domain with
 * matching name 'x'").
 *
 * What it does: a `VirRpcError` class for errors raised by the protocol layer and the test
 * driver, message prefixes as libvirt's `virErrorMsg` writes them, and `toVirErrorFields`
 * which turns anything a driver throws into wire fields: an object with numeric `code`/
 * `domain`, or with libvirt names (`'VIR_ERR_NO_DOMAIN'`, `'VIR_FROM_BHYVE'`) as the XML
 * layer's VirError carries them. Anything else becomes VIR_ERR_INTERNAL_ERROR (its message
 * kept, its stack logged by the caller, never sent).
 */
import { VIR_ERR, VIR_ERR_LEVEL, VIR_FROM, type VirErrorName, type VirFromName } from './protocol/error-codes.js';

export { VIR_ERR, VIR_FROM, type VirErrorName, type VirFromName };

/** The fields of libvirt's `remote_error` that tsvirt fills. */
export interface VirErrorFields {
  code: number;
  domain: number;
  message: string;
  level: number;
}

/**
 * libvirt's message prefix per error code (virerror.c `virErrorMsg`, the form with details).
 * Codes not listed here get their detail text alone.
 */
const PREFIX: Partial<Record<VirErrorName, string>> = {
  VIR_ERR_INTERNAL_ERROR: 'internal error',
  VIR_ERR_NO_MEMORY: 'out of memory',
  VIR_ERR_NO_SUPPORT: 'this function is not supported by the connection driver',
  VIR_ERR_NO_CONNECT: 'no connection driver available for',
  VIR_ERR_INVALID_CONN: 'invalid connection pointer in',
  VIR_ERR_INVALID_DOMAIN: 'invalid domain pointer in',
  VIR_ERR_INVALID_ARG: 'invalid argument',
  VIR_ERR_OPERATION_FAILED: 'operation failed',
  VIR_ERR_XML_ERROR: 'XML error',
  VIR_ERR_OPERATION_DENIED: 'operation forbidden',
  VIR_ERR_RPC: 'RPC error',
  VIR_ERR_NO_DOMAIN: 'Domain not found',
  VIR_ERR_AUTH_FAILED: 'authentication failed',
  VIR_ERR_NO_SECURITY_MODEL: 'Security model not found',
  VIR_ERR_OPERATION_INVALID: 'Requested operation is not valid',
  VIR_ERR_CONFIG_UNSUPPORTED: 'unsupported configuration',
  VIR_ERR_INVALID_STREAM: 'invalid stream pointer in',
  VIR_ERR_ARGUMENT_UNSUPPORTED: 'argument unsupported',
  VIR_ERR_OPERATION_UNSUPPORTED: 'Operation not supported',
  VIR_ERR_RESOURCE_BUSY: 'resource busy',
  VIR_ERR_ACCESS_DENIED: 'access denied',
  VIR_ERR_OPERATION_ABORTED: 'operation aborted',
  VIR_ERR_NO_DOMAIN_METADATA: 'metadata not found',
};

/** Prefixes that libvirt joins with a space rather than ": ". */
const SPACE_JOINED = new Set<VirErrorName>(['VIR_ERR_NO_CONNECT', 'VIR_ERR_INVALID_CONN', 'VIR_ERR_INVALID_DOMAIN', 'VIR_ERR_INVALID_STREAM']);

/** Formats a message as libvirt would for `code` with optional detail text. */
export function formatVirMessage(code: VirErrorName, detail?: string): string {
  const prefix = PREFIX[code];
  if (prefix === undefined) return detail ?? code;
  if (detail === undefined || detail === '') return prefix;
  return SPACE_JOINED.has(code) ? `${prefix} ${detail}` : `${prefix}: ${detail}`;
}

/** An error raised by the protocol layer or the test driver, carrying libvirt's fields. */
export class VirRpcError extends Error implements VirErrorFields {
  readonly code: number;
  readonly domain: number;
  readonly level: number = VIR_ERR_LEVEL.ERROR;

  constructor(code: VirErrorName, domain: VirFromName, detail?: string) {
    super(formatVirMessage(code, detail));
    this.name = 'VirRpcError';
    this.code = VIR_ERR[code];
    this.domain = VIR_FROM[domain];
  }
}

/** Shorthand used throughout the server: `virErr('VIR_ERR_NO_DOMAIN', 'VIR_FROM_RPC', '...')`. */
export function virErr(code: VirErrorName, domain: VirFromName, detail?: string): VirRpcError {
  return new VirRpcError(code, domain, detail);
}

function numberOf(v: unknown, table: Record<string, number>): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff) return v;
  if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(table, v)) return table[v];
  return undefined;
}

/**
 * Wire fields for anything thrown by a driver. Objects with a known `code` (number or
 * VIR_ERR_* name) keep it and their message; the rest become VIR_ERR_INTERNAL_ERROR.
 */
export function toVirErrorFields(e: unknown): VirErrorFields {
  if (typeof e === 'object' && e !== null) {
    const o = e as { code?: unknown; domain?: unknown; message?: unknown; level?: unknown };
    const code = numberOf(o.code, VIR_ERR);
    if (code !== undefined && code !== 0) {
      const domain = numberOf(o.domain, VIR_FROM) ?? VIR_FROM.VIR_FROM_NONE;
      const message = typeof o.message === 'string' && o.message !== '' ? o.message : `error ${code}`;
      const level = typeof o.level === 'number' ? o.level : VIR_ERR_LEVEL.ERROR;
      return { code, domain, message, level };
    }
    if (typeof o.message === 'string') {
      return {
        code: VIR_ERR.VIR_ERR_INTERNAL_ERROR,
        domain: VIR_FROM.VIR_FROM_NONE,
        message: formatVirMessage('VIR_ERR_INTERNAL_ERROR', o.message),
        level: VIR_ERR_LEVEL.ERROR,
      };
    }
  }
  return {
    code: VIR_ERR.VIR_ERR_INTERNAL_ERROR,
    domain: VIR_FROM.VIR_FROM_NONE,
    message: formatVirMessage('VIR_ERR_INTERNAL_ERROR', String(e)),
    level: VIR_ERR_LEVEL.ERROR,
  };
}

/** Whether a thrown value carries libvirt error fields (as opposed to a programming error). */
export function isVirError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = numberOf((e as { code?: unknown }).code, VIR_ERR);
  return code !== undefined && code !== 0;
}
