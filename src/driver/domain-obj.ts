/**
 * A domain as the driver sees it at one moment: its persistent definition (if defined),
 * its status record (if it has run or is running), and whether it autostarts — plus the
 * state machine that says which operation is valid in which state, with libvirt's errors.
 *
 * A DomainObj is a snapshot read from the store (domain-list.ts); it is never mutated in
 * place. Operations re-read it under the domain lock before acting.
 *
 * States (libvirt virDomainState) and what moves between them here:
 *   shutoff ──start/create──▶ running(booted) | paused(user)        [start --paused]
 *   running ──suspend──▶ paused(user) ──resume──▶ running(unpaused)
 *   running|paused ──destroy──▶ shutoff(destroyed)
 *   running ──guest poweroff / shutdown──▶ shutoff(shutdown)        [on_poweroff=destroy]
 *   running ──guest reset / reboot / reset──▶ running(booted)       [on_reboot=restart]
 *   running ──triple fault──▶ shutoff(crashed) | running | crashed  [on_crash]
 *   running ──VM process killed──▶ shutoff(crashed)
 *   crashed ──destroy──▶ shutoff(destroyed)
 * A start in progress shows as paused(starting up).
 */

import type { DomainDef } from '../xml/types.js';
import { VirError, VIR_ERR_OPERATION_INVALID, VIR_FROM_BHYVE } from '../xml/errors.js';
import {
  VIR_DOMAIN_CRASHED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_SHUTOFF_UNKNOWN,
  isActiveState,
  type DomainState,
} from './domain-state.js';
import type { DomainStatus } from './store.js';

/** What the outside world identifies a domain by (libvirt's virDomainPtr fields). */
export interface DomainRef {
  readonly name: string;
  readonly uuid: string;
  /** Runtime id while active, -1 when inactive. */
  readonly id: number;
}

export class DomainObj {
  constructor(
    readonly name: string,
    readonly uuid: string,
    /** The persistent definition; undefined for a transient domain. */
    readonly def: DomainDef | undefined,
    /** The status record; undefined for a domain that never ran under this root. */
    readonly status: DomainStatus | undefined,
    readonly autostart: boolean,
    /** The definition as started (parsed live XML) while active. */
    readonly liveDef?: DomainDef,
  ) {}

  /** The definition that describes the domain now: live while active, else persistent. */
  get currentDef(): DomainDef | undefined {
    return (this.active ? this.liveDef : undefined) ?? this.def;
  }

  get persistent(): boolean {
    return this.def !== undefined && !this.status?.transient;
  }

  get state(): DomainState {
    return this.status?.state ?? VIR_DOMAIN_SHUTOFF;
  }

  get reason(): number {
    return this.status ? this.status.reason : VIR_DOMAIN_SHUTOFF_UNKNOWN;
  }

  get active(): boolean {
    return isActiveState(this.state);
  }

  get id(): number {
    return this.active && this.status?.id !== undefined ? this.status.id : -1;
  }

  get ref(): DomainRef {
    return { name: this.name, uuid: this.uuid, id: this.id };
  }

  /** start/create: only an inactive domain. */
  checkCanStart(): void {
    if (this.active) throw invalid('domain is already running');
  }

  /** destroy: any active domain (running, paused, crashed, starting). */
  checkActive(): void {
    if (!this.active) throw invalid('domain is not running');
  }

  /** shutdown/reboot/reset/suspend: a domain with a live VM process. */
  checkHasVm(): void {
    if (!this.active || this.state === VIR_DOMAIN_CRASHED) throw invalid('domain is not running');
  }

  checkPaused(): void {
    this.checkHasVm();
    if (this.state !== VIR_DOMAIN_PAUSED) throw invalid('domain is not paused');
  }

  checkPersistent(): void {
    if (!this.persistent) throw invalid('cannot change autostart setting for a transient domain');
  }
}

function invalid(what: string): VirError {
  return new VirError(VIR_ERR_OPERATION_INVALID, VIR_FROM_BHYVE, `Requested operation is not valid: ${what}`);
}
