/**
 * VmmError: the one error class of the vmm wrapper.
 *
 * Every failure of the native vmm arrives as a VmmError with a small stable `kind` callers
 * branch on, plus context: `op` (the host call that failed, e.g. `ioctl(KVM_CREATE_VM)`)
 * and `code` (its errno name, e.g. `EACCES`) for host failures. Messages name the value at
 * fault. Kinds:
 * - `invalid-argument`: a value out of range (vector 3, vCPU 9 of 4, overlapping mapping);
 * - `out-of-range`: a guest-physical access outside guest memory (GuestMemory);
 * - `unsupported`: valid but not implemented by this backend or build;
 * - `host`: a host system call failed;
 * - `state`: not allowed now (registers of a running vCPU, start while running);
 * - `no-backend`: the requested backend is not available on this host;
 * - `usage`: the native binding was called with wrong argument types (a bug in the caller).
 */
export type VmmErrorKind =
  | 'invalid-argument'
  | 'out-of-range'
  | 'unsupported'
  | 'host'
  | 'state'
  | 'no-backend'
  | 'usage';

export class VmmError extends Error {
  readonly kind: VmmErrorKind;
  readonly op: string | undefined;
  readonly code: string | undefined;

  constructor(
    kind: VmmErrorKind,
    message: string,
    context: { op?: string | undefined; code?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'VmmError';
    this.kind = kind;
    this.op = context.op;
    this.code = context.code;
  }
}
