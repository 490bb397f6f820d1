/**
 * Software breakpoints of the GDB stub (Z0/z0), planted as bhyve's gdb.c does: the byte at
 * the breakpoint's guest-physical address is saved and replaced by INT3 (0xCC); with
 * bpt_exit the vCPU then stops at it instead of raising #BP. Keyed by guest-physical
 * address (translated once, when inserted, through the current vCPU's page tables), so
 * aliases of one page share a breakpoint.
 *
 * The debugger never sees the INT3: reads through {@link overlay} show the saved bytes, and
 * a write over a planted byte updates the saved byte while the INT3 stays. Removing puts
 * the saved byte back; {@link clear} removes all (detach, kill). At most
 * {@link MAX_BREAKPOINTS} are kept, so a debugger cannot grow the table without bound.
 */

export const MAX_BREAKPOINTS = 4096;
export const INT3 = 0xcc;

export interface PhysMemoryAccess {
  readPhys(gpa: number, dst: Uint8Array): boolean;
  writePhys(gpa: number, src: Uint8Array): boolean;
}

export type BreakpointResult = { ok: true } | { ok: false; error: string };

export class Breakpoints {
  private readonly saved = new Map<number, number>();
  private readonly one = new Uint8Array(1);

  constructor(private readonly mem: PhysMemoryAccess) {}

  get size(): number {
    return this.saved.size;
  }

  has(gpa: number): boolean {
    return this.saved.has(gpa);
  }

  insert(gpa: number): BreakpointResult {
    if (this.saved.has(gpa)) return { ok: true };
    if (this.saved.size >= MAX_BREAKPOINTS) return { ok: false, error: `more than ${MAX_BREAKPOINTS} breakpoints` };
    if (!this.mem.readPhys(gpa, this.one)) return { ok: false, error: `0x${gpa.toString(16)} is not guest RAM` };
    const orig = this.one[0]!;
    this.one[0] = INT3;
    if (!this.mem.writePhys(gpa, this.one)) return { ok: false, error: `0x${gpa.toString(16)} is not writable` };
    this.saved.set(gpa, orig);
    return { ok: true };
  }

  remove(gpa: number): BreakpointResult {
    const orig = this.saved.get(gpa);
    if (orig === undefined) return { ok: true };  // gdb may remove what it never planted here
    this.saved.delete(gpa);
    this.one[0] = orig;
    if (!this.mem.writePhys(gpa, this.one)) return { ok: false, error: `0x${gpa.toString(16)} is not writable` };
    return { ok: true };
  }

  clear(): void {
    for (const gpa of [...this.saved.keys()]) this.remove(gpa);
  }

  /** Replaces planted INT3s in `bytes` (read from [gpa, gpa+len)) by the saved bytes. */
  overlay(gpa: number, bytes: Uint8Array): void {
    if (this.saved.size === 0) return;
    for (const [at, orig] of this.saved) {
      const i = at - gpa;
      if (i >= 0 && i < bytes.length) bytes[i] = orig;
    }
  }

  /**
   * Writes `src` at gpa, keeping planted INT3s in memory and taking the written values as
   * the new saved bytes. False outside RAM.
   */
  write(gpa: number, src: Uint8Array): boolean {
    if (this.saved.size === 0) return this.mem.writePhys(gpa, src);
    const copy = Uint8Array.from(src);
    const updates: [number, number][] = [];
    for (const [at] of this.saved) {
      const i = at - gpa;
      if (i >= 0 && i < copy.length) {
        updates.push([at, copy[i]!]);
        copy[i] = INT3;
      }
    }
    if (!this.mem.writePhys(gpa, copy)) return false;
    for (const [at, v] of updates) this.saved.set(at, v);
    return true;
  }
}
