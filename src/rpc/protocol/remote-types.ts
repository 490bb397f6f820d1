/**
 * Shared data types of libvirt's REMOTE_PROGRAM (`src/remote/remote_protocol.x`, "Data types"
 * section) as typed codecs: strings, UUIDs, the domain handle, `remote_error`, and the
 * limits the procedures use.
 *
 * Domain UUIDs are 16 raw bytes on the wire; this layer keeps them as Buffers and
 * `uuid.ts` converts to the canonical text form at the DriverApi boundary.
 */
import {
  type Infer,
  xfixedOpaque,
  xint,
  xoptional,
  xstring,
  xstruct,
} from '../xdr-codec.js';

export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;

export const REMOTE_STRING_MAX = 4194304;
export const REMOTE_DOMAIN_LIST_MAX = 16384;
export const REMOTE_AUTH_TYPE_LIST_MAX = 20;
export const REMOTE_DOMAIN_MESSAGES_MAX = 2048;
export const VIR_UUID_BUFLEN = 16;
/** VIR_SECURITY_LABEL_BUFLEN, VIR_SECURITY_MODEL_BUFLEN, VIR_SECURITY_DOI_BUFLEN */
export const REMOTE_SECURITY_LABEL_MAX = 4096 + 1;
export const REMOTE_SECURITY_MODEL_MAX = 256 + 1;
export const REMOTE_SECURITY_DOI_MAX = 256 + 1;

/** remote_nonnull_string */
export const nonnullString = xstring(REMOTE_STRING_MAX);
/** remote_string (may be NULL) */
export const optString = xoptional(nonnullString);
/** remote_uuid */
export const uuidCodec = xfixedOpaque(VIR_UUID_BUFLEN);

/** remote_nonnull_domain: the handle every domain call carries. */
export const nonnullDomain = xstruct({
  name: nonnullString,
  uuid: uuidCodec,
  id: xint,
});
export type WireDomain = Infer<typeof nonnullDomain>;

/** remote_domain (may be NULL) */
export const optDomain = xoptional(nonnullDomain);

/** remote_nonnull_network, only as the unused `net` member of remote_error. */
export const nonnullNetwork = xstruct({
  name: nonnullString,
  uuid: uuidCodec,
});

/** remote_error: the payload of every REPLY (and STREAM) with status ERROR. */
export const remoteError = xstruct({
  code: xint,
  domain: xint,
  message: optString,
  level: xint,
  dom: optDomain,
  str1: optString,
  str2: optString,
  str3: optString,
  int1: xint,
  int2: xint,
  net: xoptional(nonnullNetwork),
});
export type RemoteError = Infer<typeof remoteError>;

/** remote_auth_type */
export const REMOTE_AUTH_NONE = 0;
export const REMOTE_AUTH_SASL = 1;
export const REMOTE_AUTH_POLKIT = 2;
