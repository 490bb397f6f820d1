/**
 * The bhyve configuration vocabulary of tsbhyve: tree, typed values, command line,
 * defaults. Table of contents only — no logic here.
 */
export { ConfigTree, ConfigNode } from './tree.js';
export { ConfigError, EXIT_ERROR, EXIT_USAGE, EXIT_USAGE_TEXT } from './errors.js';
export { parseBool, parseInteger, parseHex, expandNumber, parseMemSize, scanInteger } from './values.js';
export { parseCommandLine, parseConfigFile, parseConfigOption, usageText, OPTSTRING } from './legacy-argv.js';
export type { ParseOutcome, ParseOptions } from './legacy-argv.js';
export { setDefaults, KEY_DEFAULTS, VMM_BACKENDS } from './keys.js';
export type { VmmBackendName } from './keys.js';
export { PCI_EMULATION_SYNTAX, findPciEmulationSyntax, parsePciSlot } from './pci-slot.js';
export { LPC_DEVICE_NAMES, parseLpcDevice } from './lpc-device.js';
export type { FwCfgUserFile } from './options.js';
export { parseDirectBoot, isDirectBootArg } from './direct-boot.js';
