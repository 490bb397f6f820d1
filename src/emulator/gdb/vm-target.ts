/**
 * The GDB stub's target over a running tsbhyve VM (run/vm-runner.ts RunningVm): registers
 * through the vmm's Vcpu, guest-physical memory through GuestMemory (RAM only; writes drop
 * decoded code of the soft CPU), single step as mtrap_exit, breakpoints as bpt_exit, stop
 * and go as the runner's pause/resume (which also start a VM that waits for `-G w`), kill
 * as a stop of the VM with status 4 ("killed by the debugger").
 */
import { EXIT_ERROR } from '../config/errors.js';
import type { RunningVm } from '../run/vm-runner.js';
import type { Vcpu } from '../vmm/vmm.js';
import type { GdbTarget } from './target.js';

export function vmTarget(running: RunningVm): GdbTarget {
  const vm = running.vm;
  const mem = vm.memory;
  const vcpu = (i: number): Vcpu => {
    const v = vm.vcpu(i);
    if (!v) throw new Error(`no vCPU ${i}`);
    return v;
  };
  return {
    vcpus: running.vcpus,
    getState: (i) => vcpu(i).getState(),
    setState: (i, s) => vcpu(i).setState(s),
    readPhys: (gpa, dst) => {
      const view = mem.tryBytes(gpa, dst.length);
      if (!view) return false;
      dst.set(view);
      return true;
    },
    writePhys: (gpa, src) => {
      if (!mem.contains(gpa, src.length)) return false;
      mem.write(gpa, src);
      return true;
    },
    setStepping: (i, on) => vcpu(i).setCapability('mtrap_exit', on),
    setBreakpointExits: (on) => {
      for (const v of vm.vcpus) v.setCapability('bpt_exit', on);
    },
    pause: () => running.pause(),
    resume: () => running.resume(),
    kill: () => running.machine.control.exit(EXIT_ERROR, 'killed by the debugger'),
  };
}
