/**
 * Adding controllers to a DomainDef where libvirt puts them: after the last controller of
 * the same type (ordered by index), else at the end — libvirt's
 * virDomainControllerInsertPreAlloced / virDomainDefMaybeAddController /
 * virDomainControllerFindUnusedIndex (src/conf/domain_conf.c). The order matters: PCI
 * slots are handed out in controller order, so the argv and the formatted XML depend on it.
 *
 * Mutates the DomainDef it is given (the post-parse hooks own the definition they fill).
 */

import type { ControllerDef, ControllerType, DomainDef } from '../xml/types.js';

/** Inserts `cont` among the controllers with libvirt's ordering rule. */
export function insertController(def: DomainDef, cont: ControllerDef): void {
  const list = def.devices.controllers;
  let insertAt = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const cur = list[i]!;
    if (cur.type !== cont.type) continue;
    if (cur.index > cont.index) insertAt = i;
    else if (insertAt === -1) insertAt = i + 1;
  }
  if (insertAt < 0) list.push(cont);
  else list.splice(insertAt, 0, cont);
}

/** The lowest index not used by a controller of `type`. */
export function findUnusedControllerIndex(def: DomainDef, type: ControllerType): number {
  const used = new Set<number>();
  for (const c of def.devices.controllers) if (c.type === type) used.add(c.index);
  let idx = 0;
  while (used.has(idx)) idx++;
  return idx;
}

/** The controller of `type` with `index`, if any. */
export function findController(def: DomainDef, type: ControllerType, index: number): ControllerDef | undefined {
  return def.devices.controllers.find((c) => c.type === type && c.index === index);
}

/**
 * virDomainDefAddController: appends a new controller (index -1 → lowest unused) and
 * returns it. `model` is left absent when undefined (libvirt's "default" model).
 */
export function addController(def: DomainDef, type: ControllerType, index: number, model?: string): ControllerDef {
  const cont: ControllerDef = { type, index: index < 0 ? findUnusedControllerIndex(def, type) : index };
  if (model !== undefined) cont.model = model;
  insertController(def, cont);
  return cont;
}

/** virDomainDefMaybeAddController: adds the controller unless one with that index exists. */
export function maybeAddController(def: DomainDef, type: ControllerType, index: number, model?: string): ControllerDef | undefined {
  if (findController(def, type, index)) return undefined;
  return addController(def, type, index, model);
}
