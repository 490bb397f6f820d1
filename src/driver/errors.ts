/**
 * Error constructors of the bhyve driver: the XML layer's constructors in libvirt's
 * `VIR_FROM_BHYVE` domain, with the message text libvirt's bhyve driver uses where one
 * exists, so users and tests see the same words libvirt prints.
 *
 * What it does not do: logging. Non-fatal findings (a dropped QEMU-only element, an
 * argument that cannot be represented) are warnings, collected by the callers.
 */

import { configUnsupported, internalError as internal, invalidArg as invalid, operationFailed as failed, VIR_FROM_BHYVE, type VirError, xmlError as xml } from '../xml/errors.js';

/** VIR_ERR_CONFIG_UNSUPPORTED: something well-formed that bhyve/tsbhyve cannot do. */
export const unsupported = (message: string): VirError => configUnsupported(message, VIR_FROM_BHYVE);

/** VIR_ERR_XML_ERROR raised by the driver's parse hooks. */
export const xmlError = (message: string): VirError => xml(message, VIR_FROM_BHYVE);

/** VIR_ERR_INTERNAL_ERROR: an inconsistency the caller cannot fix by editing the XML. */
export const internalError = (message: string): VirError => internal(message, VIR_FROM_BHYVE);

/** VIR_ERR_OPERATION_FAILED: used by the command-line parser, as libvirt's is. */
export const operationFailed = (message: string): VirError => failed(message, VIR_FROM_BHYVE);

/** VIR_ERR_INVALID_ARG: a malformed argument to an API of this module. */
export const invalidArg = (message: string): VirError => invalid(message, VIR_FROM_BHYVE);
