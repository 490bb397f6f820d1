/**
 * Parse/format options and the hook points a hypervisor driver fills, modelled on libvirt's
 * virDomainDefParserConfig (src/conf/domain_conf.h): the XML layer stays hypervisor-neutral
 * and calls the driver at the same moments libvirt does.
 *
 * Order of a parse (libvirt virDomainDefParseNode → virDomainDefPostParse →
 * virDomainDefValidate, src/conf/domain_postparse.c):
 *   1. XML → DomainDef (structure, syntax of every value);
 *   2. `postParseBasic(def)`            — driver: arch/emulator defaults;
 *   3. controllers written without an index get the lowest unused one;
 *   4. `postParse(def)`                 — driver: implicit controllers, default models;
 *   5. for each device: `devicePostParse(dev, def)` then the common device defaults
 *      (drive addresses from target names, chardev ports, video heads/RAM, ...);
 *   6. common domain defaults (memory totals, default boot device, implicit devices:
 *      console ⇄ serial[0], controllers for disk buses and virtio channels, a video for
 *      graphics — devices created here get step 5 again, as libvirt does);
 *   7. `assignAddresses(def)`           — driver: PCI slots, after every implicit device;
 *   8. `validate(def)`, each device `deviceValidate(dev, def)`, then common validation
 *      (duplicate targets, audio references, topology vs vCPUs, NUMA cells).
 * Hooks signal refusal by throwing a VirError (e.g. VIR_ERR_CONFIG_UNSUPPORTED).
 */

import type { ChrDef } from './chardev.js';
import type { XmlElement } from './common.js';
import type { AudioDef, GraphicsDef, InputDef, MemballoonDef, PanicDef, RngDef, SoundDef, TpmDef, VideoDef, WatchdogDef } from './devices.js';
import type { ControllerDef, DiskDef, FilesystemDef } from './disk.js';
import type { DomainDef } from './domain.js';
import type { HostdevDef, InterfaceDef } from './net.js';

/** A device as handed to device hooks: its family and its definition. */
export type DeviceRef =
  | { kind: 'disk'; def: DiskDef }
  | { kind: 'controller'; def: ControllerDef }
  | { kind: 'filesystem'; def: FilesystemDef }
  | { kind: 'interface'; def: InterfaceDef }
  | { kind: 'serial'; def: ChrDef }
  | { kind: 'parallel'; def: ChrDef }
  | { kind: 'console'; def: ChrDef }
  | { kind: 'channel'; def: ChrDef }
  | { kind: 'input'; def: InputDef }
  | { kind: 'tpm'; def: TpmDef }
  | { kind: 'graphics'; def: GraphicsDef }
  | { kind: 'sound'; def: SoundDef }
  | { kind: 'audio'; def: AudioDef }
  | { kind: 'video'; def: VideoDef }
  | { kind: 'hostdev'; def: HostdevDef }
  | { kind: 'watchdog'; def: WatchdogDef }
  | { kind: 'memballoon'; def: MemballoonDef }
  | { kind: 'rng'; def: RngDef }
  | { kind: 'panic'; def: PanicDef };

/** What hooks learn about the parse in progress. */
export interface ParseContext {
  /** The parse was asked for an inactive (persistent) definition. */
  inactive: boolean;
}

/**
 * A handler for one XML namespace of driver-specific elements at the domain's top level
 * (libvirt virXMLNamespace), e.g. `bhyve:commandline`. Parsed data is stored in
 * `def.namespaceData[uri]`.
 */
export interface NamespaceHandler {
  /** Prefix libvirt writes, e.g. `bhyve`. */
  prefix: string;
  /** Namespace URI, e.g. `http://libvirt.org/schemas/domain/bhyve/1.0`. */
  uri: string;
  /** Turn this namespace's top-level elements (verbatim) into driver data. */
  parse(elements: XmlElement[]): unknown;
  /** Write the data back as XML lines at the given indentation (no trailing newline). */
  format(data: unknown, indent: string): string;
}

/** Driver hooks and defaults (all optional). */
export interface DomainParserConfig {
  /** Architecture filled in when `<os><type arch>` is absent (libvirt: host arch). */
  defaultArch?: string;
  postParseBasic?(def: DomainDef, ctx: ParseContext): void;
  postParse?(def: DomainDef, ctx: ParseContext): void;
  devicePostParse?(dev: DeviceRef, def: DomainDef, ctx: ParseContext): void;
  assignAddresses?(def: DomainDef, ctx: ParseContext): void;
  validate?(def: DomainDef, ctx: ParseContext): void;
  deviceValidate?(dev: DeviceRef, def: DomainDef, ctx: ParseContext): void;
  /** Extra namespaces (the bhyve namespace is always known). */
  namespaces?: NamespaceHandler[];
  /**
   * MAC address for an `<interface>` written without one (libvirt virDomainNetGenerateMAC,
   * at parse time). Default: random 52:54:00:xx:xx:xx. A driver's tests pass a constant,
   * as libvirt's test mocks do. What it returns must be a MAC address (else
   * VIR_ERR_INTERNAL_ERROR).
   */
  generateMac?(): string;
}

/** Options of `parseDomainXML` (libvirt's VIR_DOMAIN_DEF_PARSE_* flags). */
export interface ParseFlags {
  /**
   * Parse as a persistent definition (VIR_DOMAIN_DEF_PARSE_INACTIVE): live-only data
   * (`id`, runtime aliases, pty paths, vnc ports of autoport graphics) is dropped.
   * Default: true (what defineXML does).
   */
  inactive?: boolean;
  /** Skip post-parse defaults and hooks (VIR_DOMAIN_DEF_PARSE_SKIP_POST_PARSE). */
  skipPostParse?: boolean;
  /** Skip validation (VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE). */
  skipValidate?: boolean;
  /** Driver hooks; defaults to none (the common libvirt behaviour only). */
  config?: DomainParserConfig;
}

/** Options of `formatDomainXML` (libvirt's VIR_DOMAIN_XML_* flags). */
export interface FormatFlags {
  /** VIR_DOMAIN_XML_INACTIVE: omit `id`, runtime aliases and other live-only data. */
  inactive?: boolean;
  /** VIR_DOMAIN_XML_SECURE: include secrets (VNC/SPICE `passwd`). */
  secure?: boolean;
  /** Namespace handlers for `def.namespaceData` (the bhyve namespace is always known). */
  namespaces?: NamespaceHandler[];
}
