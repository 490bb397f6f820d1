#!/usr/bin/env node
/**
 * Entry point of `tsbhyve`, the VM process: bhyve(8)'s command line and exit statuses
 * (bhyve-userland.md §1, §3).
 *
 * Today it parses the command line into the configuration tree, answers `-h`, `-s help`,
 * `-l help` and `config.dump=1` exactly as bhyve, and validates the values bhyve checks
 * before creating a VM (topology, memory size). Running a guest needs the vmm
 * (src/emulator/vmm/, not yet available): until it is, a valid configuration ends with a
 * clear error and exit status 4 (BHYVE_EXIT_ERROR) instead of pretending to run.
 */
import { ConfigError, parseCommandLine, usageText, LPC_DEVICE_NAMES } from '../emulator/config/index.js';
import { pciModelNames } from '../emulator/pci/registry.js';
import { readPlatformConfig } from '../emulator/config/platform.js';

const PROGNAME = 'tsbhyve';

/** LPC devices tsbhyve implements (bhyve's `-l help` lists tpm too; tsbhyve has none). */
const IMPLEMENTED_LPC = LPC_DEVICE_NAMES.filter((n) => n !== 'tpm');

function main(argv: string[]): number {
  try {
    const outcome = parseCommandLine(argv);
    switch (outcome.kind) {
      case 'usage':
        if (outcome.message) process.stderr.write(`${PROGNAME}: ${outcome.message}\n`);
        process.stderr.write(usageText(PROGNAME));
        return outcome.exitStatus;
      case 'list-pci':
        process.stdout.write(pciModelNames().map((n) => `${n}\n`).join(''));
        return 0;
      case 'list-lpc':
        process.stdout.write(IMPLEMENTED_LPC.map((n) => `${n}\n`).join(''));
        return 0;
      case 'config': {
        for (const w of outcome.warnings) process.stderr.write(`${PROGNAME}: ${w}\n`);
        const { tree } = outcome;
        if (tree.getBool('config.dump', false)) {
          process.stdout.write(tree.dump());
          return 1;
        }
        readPlatformConfig(tree);
        process.stderr.write(
          `${PROGNAME}: cannot run VM '${tree.get('name')}': no vmm backend is available in this build\n`,
        );
        return 4;
      }
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.prefixed ? `${PROGNAME}: ${err.message}\n` : `${err.message}\n`);
      if (err.showUsage) process.stderr.write(usageText(PROGNAME));
      return err.exitStatus;
    }
    throw err;
  }
}

process.exitCode = main(process.argv.slice(2));
