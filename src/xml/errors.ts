/**
 * libvirt-style errors for the XML layer and everything built on it.
 *
 * What it does: defines `VirError` (numeric `code` + `domain` + `message`, the shape of
 * libvirt's virError), the numeric error codes of libvirt's `virErrorNumber` and error
 * domains of `virErrorDomain` (include/libvirt/virterror.h; values checked against
 * python3-libvirt 9.0), and small constructors the parser uses so every message names the
 * element, attribute or value at fault.
 * What it does not: logging, error callbacks, thread-local "last error" state.
 * Invariant: everything `parseDomainXML` throws is a `VirError`; nothing else escapes.
 */

/** libvirt's virErrorNumber (include/libvirt/virterror.h). */
export const VIR_ERR_OK = 0;
export const VIR_ERR_INTERNAL_ERROR = 1;
export const VIR_ERR_NO_MEMORY = 2;
export const VIR_ERR_NO_SUPPORT = 3;
export const VIR_ERR_UNKNOWN_HOST = 4;
export const VIR_ERR_NO_CONNECT = 5;
export const VIR_ERR_INVALID_CONN = 6;
export const VIR_ERR_INVALID_DOMAIN = 7;
export const VIR_ERR_INVALID_ARG = 8;
export const VIR_ERR_OPERATION_FAILED = 9;
export const VIR_ERR_GET_FAILED = 10;
export const VIR_ERR_POST_FAILED = 11;
export const VIR_ERR_HTTP_ERROR = 12;
export const VIR_ERR_SEXPR_SERIAL = 13;
export const VIR_ERR_NO_XEN = 14;
export const VIR_ERR_XEN_CALL = 15;
export const VIR_ERR_OS_TYPE = 16;
export const VIR_ERR_NO_KERNEL = 17;
export const VIR_ERR_NO_ROOT = 18;
export const VIR_ERR_NO_SOURCE = 19;
export const VIR_ERR_NO_TARGET = 20;
export const VIR_ERR_NO_NAME = 21;
export const VIR_ERR_NO_OS = 22;
export const VIR_ERR_NO_DEVICE = 23;
export const VIR_ERR_NO_XENSTORE = 24;
export const VIR_ERR_DRIVER_FULL = 25;
export const VIR_ERR_CALL_FAILED = 26;
export const VIR_ERR_XML_ERROR = 27;
export const VIR_ERR_DOM_EXIST = 28;
export const VIR_ERR_OPERATION_DENIED = 29;
export const VIR_ERR_OPEN_FAILED = 30;
export const VIR_ERR_READ_FAILED = 31;
export const VIR_ERR_PARSE_FAILED = 32;
export const VIR_ERR_CONF_SYNTAX = 33;
export const VIR_ERR_WRITE_FAILED = 34;
export const VIR_ERR_XML_DETAIL = 35;
export const VIR_ERR_INVALID_NETWORK = 36;
export const VIR_ERR_NETWORK_EXIST = 37;
export const VIR_ERR_SYSTEM_ERROR = 38;
export const VIR_ERR_RPC = 39;
export const VIR_ERR_GNUTLS_ERROR = 40;
export const VIR_WAR_NO_NETWORK = 41;
export const VIR_ERR_NO_DOMAIN = 42;
export const VIR_ERR_NO_NETWORK = 43;
export const VIR_ERR_INVALID_MAC = 44;
export const VIR_ERR_AUTH_FAILED = 45;
export const VIR_ERR_INVALID_STORAGE_POOL = 46;
export const VIR_ERR_INVALID_STORAGE_VOL = 47;
export const VIR_WAR_NO_STORAGE = 48;
export const VIR_ERR_NO_STORAGE_POOL = 49;
export const VIR_ERR_NO_STORAGE_VOL = 50;
export const VIR_WAR_NO_NODE = 51;
export const VIR_ERR_INVALID_NODE_DEVICE = 52;
export const VIR_ERR_NO_NODE_DEVICE = 53;
export const VIR_ERR_NO_SECURITY_MODEL = 54;
export const VIR_ERR_OPERATION_INVALID = 55;
export const VIR_WAR_NO_INTERFACE = 56;
export const VIR_ERR_NO_INTERFACE = 57;
export const VIR_ERR_INVALID_INTERFACE = 58;
export const VIR_ERR_MULTIPLE_INTERFACES = 59;
export const VIR_WAR_NO_NWFILTER = 60;
export const VIR_ERR_INVALID_NWFILTER = 61;
export const VIR_ERR_NO_NWFILTER = 62;
export const VIR_ERR_BUILD_FIREWALL = 63;
export const VIR_WAR_NO_SECRET = 64;
export const VIR_ERR_INVALID_SECRET = 65;
export const VIR_ERR_NO_SECRET = 66;
export const VIR_ERR_CONFIG_UNSUPPORTED = 67;
export const VIR_ERR_OPERATION_TIMEOUT = 68;
export const VIR_ERR_MIGRATE_PERSIST_FAILED = 69;
export const VIR_ERR_HOOK_SCRIPT_FAILED = 70;
export const VIR_ERR_INVALID_DOMAIN_SNAPSHOT = 71;
export const VIR_ERR_NO_DOMAIN_SNAPSHOT = 72;
export const VIR_ERR_INVALID_STREAM = 73;
export const VIR_ERR_ARGUMENT_UNSUPPORTED = 74;
export const VIR_ERR_STORAGE_PROBE_FAILED = 75;
export const VIR_ERR_STORAGE_POOL_BUILT = 76;
export const VIR_ERR_SNAPSHOT_REVERT_RISKY = 77;
export const VIR_ERR_OPERATION_ABORTED = 78;
export const VIR_ERR_AUTH_CANCELLED = 79;
export const VIR_ERR_NO_DOMAIN_METADATA = 80;
export const VIR_ERR_MIGRATE_UNSAFE = 81;
export const VIR_ERR_OVERFLOW = 82;
export const VIR_ERR_BLOCK_COPY_ACTIVE = 83;
export const VIR_ERR_OPERATION_UNSUPPORTED = 84;
export const VIR_ERR_SSH = 85;
export const VIR_ERR_AGENT_UNRESPONSIVE = 86;
export const VIR_ERR_RESOURCE_BUSY = 87;
export const VIR_ERR_ACCESS_DENIED = 88;
export const VIR_ERR_DBUS_SERVICE = 89;
export const VIR_ERR_STORAGE_VOL_EXIST = 90;
export const VIR_ERR_CPU_INCOMPATIBLE = 91;
export const VIR_ERR_XML_INVALID_SCHEMA = 92;
export const VIR_ERR_MIGRATE_FINISH_OK = 93;
export const VIR_ERR_AUTH_UNAVAILABLE = 94;
export const VIR_ERR_NO_SERVER = 95;
export const VIR_ERR_NO_CLIENT = 96;
export const VIR_ERR_AGENT_UNSYNCED = 97;
export const VIR_ERR_LIBSSH = 98;
export const VIR_ERR_DEVICE_MISSING = 99;
export const VIR_ERR_INVALID_NWFILTER_BINDING = 100;
export const VIR_ERR_NO_NWFILTER_BINDING = 101;
export const VIR_ERR_INVALID_DOMAIN_CHECKPOINT = 102;
export const VIR_ERR_NO_DOMAIN_CHECKPOINT = 103;
export const VIR_ERR_NO_DOMAIN_BACKUP = 104;
export const VIR_ERR_INVALID_NETWORK_PORT = 105;
export const VIR_ERR_NETWORK_PORT_EXIST = 106;
export const VIR_ERR_NO_NETWORK_PORT = 107;
export const VIR_ERR_NO_HOSTNAME = 108;
export const VIR_ERR_CHECKPOINT_INCONSISTENT = 109;
export const VIR_ERR_MULTIPLE_DOMAINS = 110;
export const VIR_ERR_NO_NETWORK_METADATA = 111;

/** libvirt's virErrorDomain (include/libvirt/virterror.h). */
export const VIR_FROM_NONE = 0;
export const VIR_FROM_XEN = 1;
export const VIR_FROM_XML = 5;
export const VIR_FROM_DOM = 6;
export const VIR_FROM_RPC = 7;
export const VIR_FROM_CONF = 9;
export const VIR_FROM_QEMU = 10;
export const VIR_FROM_NET = 11;
export const VIR_FROM_TEST = 12;
export const VIR_FROM_REMOTE = 13;
export const VIR_FROM_STORAGE = 18;
export const VIR_FROM_NETWORK = 19;
export const VIR_FROM_DOMAIN = 20;
export const VIR_FROM_NODEDEV = 22;
export const VIR_FROM_SECURITY = 24;
export const VIR_FROM_INTERFACE = 26;
export const VIR_FROM_SECRET = 30;
export const VIR_FROM_CPU = 31;
export const VIR_FROM_NWFILTER = 33;
export const VIR_FROM_HOOK = 34;
export const VIR_FROM_DOMAIN_SNAPSHOT = 35;
export const VIR_FROM_SYSINFO = 37;
export const VIR_FROM_STREAMS = 38;
export const VIR_FROM_EVENT = 40;
export const VIR_FROM_LOCKING = 42;
export const VIR_FROM_CAPABILITIES = 44;
export const VIR_FROM_URI = 45;
export const VIR_FROM_AUTH = 46;
export const VIR_FROM_DBUS = 47;
export const VIR_FROM_DEVICE = 49;
export const VIR_FROM_IDENTITY = 53;
export const VIR_FROM_ACCESS = 55;
export const VIR_FROM_SYSTEMD = 56;
export const VIR_FROM_BHYVE = 57;
export const VIR_FROM_FIREWALL = 59;
export const VIR_FROM_THREAD = 61;
export const VIR_FROM_ADMIN = 62;
export const VIR_FROM_LOGGING = 63;
export const VIR_FROM_PERF = 65;
export const VIR_FROM_DOMAIN_CHECKPOINT = 69;
export const VIR_FROM_TPM = 70;
export const VIR_FROM_BPF = 71;
export const VIR_FROM_CH = 72;

/** virErrorLevel. */
export const VIR_ERR_NONE = 0;
export const VIR_ERR_WARNING = 1;
export const VIR_ERR_ERROR = 2;

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
export function xmlError(message: string): VirError {
  return new VirError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, `XML error: ${message}`);
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

/** An internal inconsistency (a bug, never user input): VIR_ERR_INTERNAL_ERROR. */
export function internalError(message: string, domain: number = VIR_FROM_DOMAIN): VirError {
  return new VirError(VIR_ERR_INTERNAL_ERROR, domain, `internal error: ${message}`);
}
