#!/usr/bin/env node
/**
 * Entry point of `tsbhyve`, the VM process: bhyve(8)'s command line and exit statuses
 * (bhyve-userland.md §1, §3).
 *
 * It parses the command line into the configuration tree, answers `-h`, `-s help`,
 * `-l help` and `config.dump=1` exactly as bhyve, validates the values bhyve checks before
 * creating a VM (topology, memory size), then runs the VM (src/emulator/run/) and exits
 * with the status the guest caused: 0 reset, 1 poweroff, 2 halt, 3 triple fault, 4 error,
 * `(v<<1)|1` from pc-testdev. Output is flushed before the process exits.
 */
import { ConfigError, parseCommandLine, usageText, LPC_DEVICE_NAMES } from '../emulator/config/index.js';
import { pciModelNames } from '../emulator/pci/registry.js';
import { readPlatformConfig } from '../emulator/config/platform.js';
import { controlHooks } from '../emulator/control/hooks.js';
import { stderrLogger } from '../emulator/log.js';
import { gdbHooks } from '../emulator/gdb/hooks.js';
import { combineHooks, runVm } from '../emulator/run/vm-runner.js';
import { startMark, startTraceProcess } from '../emulator/start-trace.js';

startTraceProcess('tsbhyve');
startMark('modules loaded');

const PROGNAME = 'tsbhyve';

/** LPC devices tsbhyve implements (bhyve's `-l help` lists tpm too; tsbhyve has none). */
const IMPLEMENTED_LPC = LPC_DEVICE_NAMES.filter((n) => n !== 'tpm');

async function main(argv: string[]): Promise<number> {
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
        startMark('config parsed');
        const platform = readPlatformConfig(tree);
        const hooks = combineHooks(controlHooks(tree), gdbHooks(tree, stderrLogger));
        const run = await runVm(tree, platform, stderrLogger, hooks);
        if (run.status === 4) process.stderr.write(`${PROGNAME}: ${run.reason}\n`);
        if (run.killedBy) {
          process.kill(process.pid, run.killedBy);
          // The default action ends the process; should it be blocked, fall through.
        }
        return run.status;
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

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`${PROGNAME}: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(4);
  },
);
