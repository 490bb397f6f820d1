/**
 * What an emulated USB device offers the host controller (bhyve usb_emul.h
 * `usb_devemu`: ue_request for control transfers, ue_data for other endpoints), in
 * transfer terms rather than TRBs: the controller turns TRBs into these calls and the
 * results back into transfer events. A device never sees guest memory.
 */

/** An 8-byte SETUP packet, decoded (USB 2.0 §9.3). */
export interface SetupPacket {
  bmRequestType: number;
  bRequest: number;
  wValue: number;
  wIndex: number;
  wLength: number;
}

export function parseSetup(b: Uint8Array): SetupPacket {
  return {
    bmRequestType: b[0]!,
    bRequest: b[1]!,
    wValue: b[2]! | (b[3]! << 8),
    wIndex: b[4]! | (b[5]! << 8),
    wLength: b[6]! | (b[7]! << 8),
  };
}

/** Result of a control request: data for an IN request (at most wLength), or a stall. */
export type ControlResult = { kind: 'ok'; data?: Uint8Array } | { kind: 'stall' };

export interface UsbDevice {
  /** 2 or 3: which root-hub ports (USB 2 or USB 3) the device attaches to. */
  readonly usbVersion: 2 | 3;
  /** xHCI port speed ID (1 full, 2 low, 3 high, 4 super). */
  readonly speed: number;
  readonly name: string;
  /** A control request on endpoint 0; `data` carries an OUT data stage. */
  control(setup: SetupPacket, data: Uint8Array | undefined): ControlResult;
  /**
   * Data for IN endpoint `ep` (1..15) when the device has some, else undefined (the
   * transfer stays pending until the device calls its `wake` callback).
   */
  interruptIn(ep: number, maxLength: number): Uint8Array | undefined;
  /** Installed by the controller: the device has new IN data on endpoint `ep`. */
  setWake(wake: ((ep: number) => void) | undefined): void;
  /** Bus reset (port reset, slot reset). */
  reset(): void;
}
