import { describe, expect, it } from 'vitest';
import { BINDING_ABI, loadNativeVmm } from '../../../src/emulator/vmm/native.js';

describe('native vmm loader', () => {
  it('loads the addon built by npm install and checks its ABI', () => {
    const vmm = loadNativeVmm();
    expect(vmm.abiVersion()).toBe(BINDING_ABI);
  });
});
