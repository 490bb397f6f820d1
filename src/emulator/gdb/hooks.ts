/**
 * `-G [w][addr:]port` for tsbhyve: reads gdb.port, gdb.address and gdb.wait (bhyve_config(5)
 * keys, bhyve-userland.md §1.2) and returns the runner hooks that start the GDB stub
 * before the first guest instruction, route its exits, and tell the debugger how the VM
 * ended. gdb.wait holds the vCPUs until the debugger resumes them. No port (or 0): no hooks.
 *
 * Refused with a clear error (status 4): a port that is not 1-65535, an address that does
 * not bind, and a vmm backend without the debug exits (KVM where KVM_SET_GUEST_DEBUG cannot
 * trap INT3, e.g. kvm_pvm).
 */
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { ConfigTree } from '../config/tree.js';
import type { Logger } from '../log.js';
import type { RunHooks } from '../run/vm-runner.js';
import { VmmError } from '../vmm/vmm.js';
import { GdbServer } from './server.js';
import { vmTarget } from './vm-target.js';

export function gdbHooks(tree: ConfigTree, log: Logger): RunHooks {
  const portText = tree.get('gdb.port');
  if (portText === undefined || portText === '0') return {};
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new ConfigError(`Invalid gdb port '${portText}' (-G [w][address:]port, port 1-65535)`, EXIT_ERROR);
  }
  const port = Number(portText);
  // bhyve accepts a bracketed IPv6 address ([::1]:1234); Node wants it bare.
  const address = (tree.get('gdb.address') ?? 'localhost').replace(/^\[(.*)\]$/, '$1');
  const wait = tree.getBool('gdb.wait', false);
  let server: GdbServer | undefined;
  return {
    startPaused: wait,
    async beforeRun(vm) {
      try {
        // Probe the debug exits now rather than when a debugger attaches.
        for (const v of vm.vm.vcpus) {
          v.setCapability('bpt_exit', true);
          v.setCapability('bpt_exit', false);
          v.setCapability('mtrap_exit', true);
          v.setCapability('mtrap_exit', false);
        }
      } catch (e) {
        if (e instanceof VmmError) {
          throw new ConfigError(`the GDB stub (-G) cannot debug on the ${vm.vm.backend} backend: ${e.message}`, EXIT_ERROR);
        }
        throw e;
      }
      try {
        server = await GdbServer.listen(address, port, vmTarget(vm), log);
      } catch (e) {
        throw new ConfigError(`cannot listen for gdb on ${address}:${port}: ${(e as Error).message}`, EXIT_ERROR);
      }
    },
    interceptExit: (exit) => server?.intercept(exit) ?? false,
    async afterRun(outcome) {
      server?.vmEnded(outcome.status);
      await server?.close();
      server = undefined;
    },
  };
}
