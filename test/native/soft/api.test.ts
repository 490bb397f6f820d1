// The soft CPU's host contract (native/soft/cpu.h) as the vmm uses it: api.cc checks reset
// state, state and MSR access, CPUID tables, budgets, HLT/interrupt/NMI/exception
// semantics, MMIO and ROM, DMA invalidation, triple fault and the physical map.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildTool } from './build-tools.js';

describe('soft CPU host interface', () => {
  it('meets the cpu.h contract', async () => {
    const bin = await buildTool('api');
    const r = spawnSync(bin, [], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout, r.stderr).not.toMatch(/FAIL/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 600_000);
});
