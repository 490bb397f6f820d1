/**
 * tsvirt/driver — the bhyve translation: libvirt domain ⇄ bhyve command line and
 * configuration tree. Table of contents only; every export is documented where it lives.
 *
 *   domainToBhyveArgv(def, opts?)    → { bhyve, loader?, deviceMap?, warnings, env, interfaces, def }
 *   domainToBhyveConfig(def, opts?)  → `-k` file text (bhyve_config(5) keys)
 *   bhyveArgvToDomain(argv, loaderArgv?, opts?) → DomainDef   (domxml-from-native)
 *   createBhyveParserConfig(opts?)   → the XML layer's post-parse/validate hooks
 *   prepareLiveDomain(def, opts?)    → live definition + warnings (QEMU/KVM mapping, addresses, firmware)
 *
 * `opts` carries the host: capability flags (LIBVIRT_TEST_CAPS reproduces libvirt's test
 * host, TSBHYVE_CAPS is tsvirt's), architecture, firmware/NVRAM directories, program
 * paths, and seams for tap names, VNC ports, network bridges and directory listings.
 */

export {
  BHYVE_CAP_NAMES,
  type BhyveArch,
  type BhyveCap,
  type BhyveHost,
  type BhyveHostOptions,
  DEFAULT_PROGRAM_PATHS,
  type GrubCap,
  LIBVIRT_TEST_CAPS,
  type ProgramPaths,
  resolveHost,
  SUPPORTED_DOMAIN_TYPES,
  TSBHYVE_CAPS,
} from './capabilities.js';
export {
  type BhyveArgvResult,
  buildPlan,
  directBootArg,
  domainToBhyveArgv,
  type LiveDomain,
  prepareLiveDomain,
  renderArgv,
  type TranslateOptions,
} from './command.js';
export { domainToBhyveConfig, formatConfigFile, planToConfigKeys } from './config-tree.js';
export { createBhyveParserConfig, type ParserConfigOptions } from './hooks.js';
export { assignPciAddresses, assignVirtioSerialAddresses, formatPciAddress } from './address.js';
export { completeBhyveDefinition } from './defaults.js';
export { adaptForeignDomain } from './compat.js';
export { checkSupported } from './support.js';
export { BHYVE_DEFAULT_FIRMWARE, defaultNvramPath, prepareFirmware } from './firmware.js';
export { bootDisk, buildLoaderCommand, type LoaderCommand, memoryMiB } from './loader.js';
export { classifyKernelImage, detectKernelProtocol, type KernelProtocol } from './kernel-image.js';
export { type ArgvToDomainOptions, bhyveArgvToDomain, bhyveCommandLineToDomain, type ParseMode } from './parse-command.js';
export { parseMemsizeKiB, splitNativeCommandLine } from './native-cmdline.js';
export type { BhyvePlan, DirectBootSpec, PciSlotSpec, PlannedInterface } from './plan.js';
export { emptyDomainDef } from './skeleton.js';
