/**
 * Finding the domain a command argument names, the way virsh's virshLookupDomainBy does:
 * a non-negative integer is tried as an id, a 36-character string as a uuid, then the text
 * as a name; on failure `error: failed to get domain 'X'`.
 */

import type { Ctl } from './ctl.js';
import type { Conn, DomainRef } from './conn.js';

export const BY_ID = 1;
export const BY_UUID = 2;
export const BY_NAME = 4;
export const BY_ALL = BY_ID | BY_UUID | BY_NAME;

export async function lookupDomain(ctl: Ctl, conn: Conn, n: string, by = BY_ALL): Promise<DomainRef | undefined> {
  let dom: DomainRef | undefined;
  if (by & BY_ID && /^[+-]?\d+$/.test(n.trim())) {
    const id = Number(n);
    if (Number.isSafeInteger(id) && id >= 0 && id <= 0x7fffffff) dom = await conn.lookupDomainById(id).catch(() => undefined);
  }
  if (!dom && by & BY_UUID && n.length === 36) dom = await conn.lookupDomainByUuid(n).catch(() => undefined);
  if (!dom && by & BY_NAME) dom = await conn.lookupDomainByName(n).catch(() => undefined);
  if (!dom) ctl.error(`failed to get domain '${n}'`);
  return dom;
}
