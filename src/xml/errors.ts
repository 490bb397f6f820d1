/**
 * libvirt-style errors for the whole management side: the XML layer, the driver, the RPC
 * server and client, D-Bus.
 *
 * What it does: defines `VirError` (numeric `code` + `domain` + `level` + `message`, the
 * shape of libvirt's virError and of the wire's `remote_error`), re-exports libvirt's
 * numbers (./error-codes.ts), formats messages the way libvirt's virErrorMsg does
 * ("Domain not found: no domain with matching name 'x'"), turns anything thrown into a
 * VirError (`toVirError`: unknown exceptions become VIR_ERR_INTERNAL_ERROR), and gives the
 * parser small constructors so every message names the element, attribute or value at
 * fault.
 * What it does not: logging, error callbacks, thread-local "last error" state.
 * Invariant: everything `parseDomainXML` throws is a `VirError`; nothing else escapes.
 */

import {
  VIR_ERR,
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_ERROR,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_XML_DETAIL,
  VIR_ERR_XML_ERROR,
  VIR_FROM,
  VIR_FROM_DOMAIN,
  VIR_FROM_NONE,
  VIR_FROM_XML,
  type VirErrorName,
  type VirFromName,
  virErrorName,
} from './error-codes.js';

export * from './error-codes.js';

/**
 * A libvirt error value. `code` is a virErrorNumber, `domain` a virErrorDomain; `message`
 * is the full text as libvirt would print it after "error: ".
 */
export class VirError extends Error {
  readonly code: number;
  readonly domain: number;
  readonly level: number;

  constructor(code: number, domain: number, message: string, level: number = VIR_ERR_ERROR) {
    super(message);
    this.name = 'VirError';
    this.code = code;
    this.domain = domain;
    this.level = level;
  }

  /** Plain-object form (for RPC/D-Bus encoders and JSON logs). */
  toJSON(): { code: number; domain: number; level: number; message: string } {
    return { code: this.code, domain: this.domain, level: this.level, message: this.message };
  }
}

/**
 * libvirt's message prefix per error code (virerror.c virErrorMsg, the form with details).
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
  VIR_ERR_OVERFLOW: 'numerical overflow',
  VIR_ERR_OPERATION_UNSUPPORTED: 'Operation not supported',
  VIR_ERR_RESOURCE_BUSY: 'resource busy',
  VIR_ERR_ACCESS_DENIED: 'access denied',
  VIR_ERR_OPERATION_ABORTED: 'operation aborted',
  VIR_ERR_NO_DOMAIN_METADATA: 'metadata not found',
};

/** Prefixes that libvirt joins with a space rather than ": ". */
const SPACE_JOINED = new Set<VirErrorName>(['VIR_ERR_NO_CONNECT', 'VIR_ERR_INVALID_CONN', 'VIR_ERR_INVALID_DOMAIN', 'VIR_ERR_INVALID_STREAM']);

/** The message libvirt prints for `code` with optional detail text (virErrorMsg). */
export function formatVirMessage(code: VirErrorName, detail?: string): string {
  const prefix = PREFIX[code];
  if (prefix === undefined) return detail ?? code;
  if (detail === undefined || detail === '') return prefix;
  return SPACE_JOINED.has(code) ? `${prefix} ${detail}` : `${prefix}: ${detail}`;
}

/**
 * A VirError from libvirt names, its message formatted as libvirt does:
 * `virErr('VIR_ERR_NO_DOMAIN', 'VIR_FROM_RPC', "no domain with matching name 'x'")`.
 */
export function virErr(code: VirErrorName, domain: VirFromName, detail?: string): VirError {
  return new VirError(VIR_ERR[code], VIR_FROM[domain], formatVirMessage(code, detail));
}

/** A numeric code or a VIR_ERR_* / VIR_FROM_* name → the number, when it is a known one. */
function knownNumber(v: unknown, table: Record<string, number>, isKnown: (n: number) => boolean): number | undefined {
  if (typeof v === 'number') return isKnown(v) ? v : undefined;
  if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(table, v)) return table[v];
  return undefined;
}

const isKnownDomain = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;

/**
 * Anything thrown, as a VirError: a VirError as it is; an object carrying a known libvirt
 * error code (number or VIR_ERR_* name, e.g. from another copy of this module) with its
 * domain, level and message; anything else as VIR_ERR_INTERNAL_ERROR keeping its message
 * (the caller logs the stack; it is never sent to a client).
 */
export function toVirError(e: unknown): VirError {
  if (e instanceof VirError) return e;
  if (typeof e === 'object' && e !== null) {
    const o = e as { code?: unknown; domain?: unknown; message?: unknown; level?: unknown };
    const code = knownNumber(o.code, VIR_ERR, (n) => n !== 0 && virErrorName(n) !== undefined);
    if (code !== undefined) {
      const domain = knownNumber(o.domain, VIR_FROM, isKnownDomain) ?? VIR_FROM_NONE;
      const message = typeof o.message === 'string' && o.message !== '' ? o.message : formatVirMessage(virErrorName(code)!);
      const level = typeof o.level === 'number' ? o.level : VIR_ERR_ERROR;
      return new VirError(code, domain, message, level);
    }
    if (typeof o.message === 'string') return new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, formatVirMessage('VIR_ERR_INTERNAL_ERROR', o.message));
  }
  return new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, formatVirMessage('VIR_ERR_INTERNAL_ERROR', String(e)));
}

/** True when `e` is a VirError (works across module copies: checks the shape too). */
export function isVirError(e: unknown): e is VirError {
  return (
    e instanceof VirError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { name?: unknown }).name === 'VirError' &&
      typeof (e as { code?: unknown }).code === 'number' &&
      typeof (e as { domain?: unknown }).domain === 'number')
  );
}

/** Malformed XML (well-formedness, entities, limits): VIR_ERR_XML_ERROR in VIR_FROM_XML. */
export function xmlSyntaxError(message: string): VirError {
  return new VirError(VIR_ERR_XML_ERROR, VIR_FROM_XML, message);
}

/** Well-formed but wrong content (missing element, bad value): VIR_ERR_XML_ERROR, domain conf. */
export function xmlError(message: string, domain: number = VIR_FROM_DOMAIN): VirError {
  return new VirError(VIR_ERR_XML_ERROR, domain, `XML error: ${message}`);
}

/** A value that is syntactically off in an attribute/element: VIR_ERR_XML_DETAIL. */
export function xmlDetail(message: string): VirError {
  return new VirError(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, message);
}

/** Something well-formed and understood but not supported: VIR_ERR_CONFIG_UNSUPPORTED. */
export function configUnsupported(message: string, domain: number = VIR_FROM_DOMAIN): VirError {
  return new VirError(VIR_ERR_CONFIG_UNSUPPORTED, domain, `unsupported configuration: ${message}`);
}

/** An invalid argument to an API (flags, options): VIR_ERR_INVALID_ARG. */
export function invalidArg(message: string, domain: number = VIR_FROM_DOMAIN): VirError {
  return new VirError(VIR_ERR_INVALID_ARG, domain, `invalid argument: ${message}`);
}

/** An operation that could not be carried out: VIR_ERR_OPERATION_FAILED. */
export function operationFailed(message: string, domain: number = VIR_FROM_DOMAIN): VirError {
  return new VirError(VIR_ERR_OPERATION_FAILED, domain, `operation failed: ${message}`);
}

/** An internal inconsistency (a bug, never user input): VIR_ERR_INTERNAL_ERROR. */
export function internalError(message: string, domain: number = VIR_FROM_DOMAIN): VirError {
  return new VirError(VIR_ERR_INTERNAL_ERROR, domain, `internal error: ${message}`);
}
