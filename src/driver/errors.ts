/**
 * Error constructors of the bhyve driver: every refusal is a `VirError` in libvirt's
 * `VIR_FROM_BHYVE` domain, with the message text libvirt's bhyve driver uses where one
 * exists, so users and tests see the same words libvirt prints.
 *
 * What it does not do: logging. Non-fatal findings (a dropped QEMU-only element, an
 * argument that cannot be represented) are warnings, collected by the callers.
 */

import {
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_XML_ERROR,
  VIR_FROM_BHYVE,
  VirError,
} from '../xml/errors.js';

/** VIR_ERR_CONFIG_UNSUPPORTED: something well-formed that bhyve/tsbhyve cannot do. */
export function unsupported(message: string): VirError {
  return new VirError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_BHYVE, `unsupported configuration: ${message}`);
}

/** VIR_ERR_XML_ERROR raised by the driver's parse hooks. */
export function xmlError(message: string): VirError {
  return new VirError(VIR_ERR_XML_ERROR, VIR_FROM_BHYVE, `XML error: ${message}`);
}

/** VIR_ERR_INTERNAL_ERROR: an inconsistency the caller cannot fix by editing the XML. */
export function internalError(message: string): VirError {
  return new VirError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_BHYVE, `internal error: ${message}`);
}

/** VIR_ERR_OPERATION_FAILED: used by the command-line parser, as libvirt's is. */
export function operationFailed(message: string): VirError {
  return new VirError(VIR_ERR_OPERATION_FAILED, VIR_FROM_BHYVE, `operation failed: ${message}`);
}

/** VIR_ERR_INVALID_ARG: a malformed argument to an API of this module. */
export function invalidArg(message: string): VirError {
  return new VirError(VIR_ERR_INVALID_ARG, VIR_FROM_BHYVE, `invalid argument: ${message}`);
}
