/**
 * Connects the control socket to a running VM (docs/control-socket.md §1): reads
 * `tsvirt.control.path` and `tsvirt.control.start_paused`, and returns the runner hooks
 * that listen before the first guest instruction, answer for the VM while it runs, and
 * remove the socket once the VM stopped. No path: no hooks (plain bhyve behaviour).
 */
import { ConfigError, EXIT_ERROR } from '../config/errors.js';
import type { ConfigTree } from '../config/tree.js';
import type { RunHooks, RunningVm } from '../run/vm-runner.js';
import { ControlServer, type ControlTarget } from './server.js';

/** The longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

function target(vm: RunningVm): ControlTarget {
  return {
    name: vm.name,
    vcpus: vm.vcpus,
    paused: () => vm.paused(),
    acpiEnabled: () => vm.machine.platform.pm.acpiEnabled,
    powerButton: () => vm.machine.powerButton(),
    pause: () => vm.pause(),
    resume: () => vm.resume(),
    consoles: vm.machine.consoles,
  };
}

export function controlHooks(tree: ConfigTree): RunHooks {
  const path = tree.get('tsvirt.control.path');
  const startPaused = tree.getBool('tsvirt.control.start_paused', false);
  if (path === undefined) return { startPaused };
  if (path === '' || Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new ConfigError(`Invalid value for tsvirt.control.path: '${path}' (a socket path of 1 to ${MAX_SOCKET_PATH} bytes)`, EXIT_ERROR);
  }
  let server: ControlServer | undefined;
  return {
    startPaused,
    async beforeRun(vm) {
      try {
        server = await ControlServer.listen(path, target(vm));
      } catch (e) {
        throw new ConfigError(`cannot listen on the control socket ${path}: ${(e as Error).message}`, EXIT_ERROR);
      }
    },
    async afterRun() {
      await server?.close();
      server = undefined;
    },
  };
}
