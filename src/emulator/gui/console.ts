/**
 * The guest console as input devices and the framebuffer meet it (bhyve console.c): the
 * display reports its size, remote viewers (the VNC server of fbuf) push pointer and
 * keyboard events, and input devices (the USB tablet, the PS/2 ports if added) register
 * to receive them. The highest-priority pointer handler gets pointer events (bhyve gives
 * the tablet priority 10 over the PS/2 mouse's 1).
 *
 * One per machine; device builders share it through the PCI model context. No I/O.
 */

/** Buttons as RFB encodes them: bit 0 left, 1 middle, 2 right, 3 wheel up, 4 wheel down. */
export type PointerHandler = (buttons: number, x: number, y: number) => void;
export type KeyHandler = (down: boolean, keysym: number) => void;

export class GuestConsole {
  private width = 0;
  private height = 0;
  private readonly pointers: Array<{ prio: number; fn: PointerHandler }> = [];
  private readonly keys: Array<{ prio: number; fn: KeyHandler }> = [];

  /** The display's current size (0×0 before a framebuffer exists). */
  get size(): { width: number; height: number } {
    return { width: this.width, height: this.height };
  }

  setSize(width: number, height: number): void {
    this.width = width;
    this.height = height;
  }

  registerPointer(fn: PointerHandler, prio: number): void {
    this.pointers.push({ prio, fn });
    this.pointers.sort((a, b) => b.prio - a.prio);
  }

  registerKeyboard(fn: KeyHandler, prio: number): void {
    this.keys.push({ prio, fn });
    this.keys.sort((a, b) => b.prio - a.prio);
  }

  /** Whether any device consumes pointer events. */
  get hasPointer(): boolean {
    return this.pointers.length > 0;
  }

  pointerEvent(buttons: number, x: number, y: number): void {
    this.pointers[0]?.fn(buttons, x, y);
  }

  keyEvent(down: boolean, keysym: number): void {
    this.keys[0]?.fn(down, keysym);
  }
}
