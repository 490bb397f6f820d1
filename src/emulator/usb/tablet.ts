/**
 * The USB HID tablet (bhyve usb_mouse.c; USB HID 1.11; bhyve-userland.md §6.10): a USB 3
 * device FB5D:0001 "BHYVE HID Tablet" with one interface (HID, boot protocol mouse) and an
 * interrupt IN endpoint 1 delivering 6-byte reports — buttons (left, right, middle), X and
 * Y absolute in 0..0x7FFF, wheel −1/0/1. Pointer events come from the guest console (the
 * VNC server); positions are scaled from the display size, events before a display exists
 * are ignored (as bhyve).
 *
 * Control requests answered as bhyve: GET_DESCRIPTOR (device, configuration, strings,
 * BOS; HID report descriptor through the interface), GET/SET_CONFIGURATION,
 * GET_INTERFACE, GET_STATUS, SET/CLEAR_FEATURE (remote wakeup), SET_INTERFACE,
 * SET_ISOCH_DELAY, SET_SEL, and the HID class requests GET_REPORT, GET/SET_IDLE,
 * GET/SET_PROTOCOL, SET_REPORT. Anything else stalls.
 */
import type { GuestConsole } from '../gui/console.js';
import * as U from './regs.js';
import type { ControlResult, SetupPacket, UsbDevice } from './usb-device.js';

export const UMOUSE_INTR_ENDPT = 1;
const UMOUSE_REPORT_DESC_TYPE = 0x22;
const UMOUSE_GET_REPORT = 0x01;
const UMOUSE_GET_IDLE = 0x02;
const UMOUSE_GET_PROTOCOL = 0x03;
const UMOUSE_SET_REPORT = 0x09;
const UMOUSE_SET_IDLE = 0x0a;
const UMOUSE_SET_PROTOCOL = 0x0b;
export const MOUSE_MAX = 0x8000;
export const REPORT_SIZE = 6;

const STRINGS = ['\u0409', 'BHYVE', 'HID Tablet', '01', 'HID Tablet Device'];

export const REPORT_DESCRIPTOR = Uint8Array.of(
  0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x01, 0xa1, 0x00, // mouse, pointer
  0x05, 0x09, 0x19, 0x01, 0x29, 0x03, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x03, 0x81, 0x02, // 3 buttons
  0x75, 0x05, 0x95, 0x01, 0x81, 0x03, // padding
  0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x35, 0x00, 0x46, 0xff, 0x7f, 0x15, 0x00, 0x26, 0xff, 0x7f, 0x75, 0x10, 0x95, 0x02, 0x81, 0x02, // X, Y
  0x05, 0x01, 0x09, 0x38, 0x35, 0x00, 0x45, 0x00, 0x15, 0x81, 0x25, 0x7f, 0x75, 0x08, 0x95, 0x01, 0x81, 0x06, // wheel
  0xc0, 0xc0,
);

export const DEVICE_DESCRIPTOR = Uint8Array.of(
  18, U.UDESC_DEVICE, 0x00, 0x03, // bcdUSB 3.0
  0, 0, 0, 8, // class, subclass, protocol, max packet size 8
  0x5d, 0xfb, 0x01, 0x00, 0x00, 0x00, // idVendor FB5D, idProduct 0001, bcdDevice 0
  1, 2, 3, 1, // manufacturer, product, serial strings; one configuration
);

export const CONFIG_DESCRIPTOR = Uint8Array.of(
  9, U.UDESC_CONFIG, 40, 0, 1, 1, 4, 0xa0, 0, // total 40, 1 interface, value 1, string 4, bus powered + remote wakeup
  9, U.UDESC_INTERFACE, 0, 0, 1, 3, 1, 2, 0, // HID, boot, mouse
  9, 0x21, 0x01, 0x10, 0, 1, UMOUSE_REPORT_DESC_TYPE, REPORT_DESCRIPTOR.length, 0, // HID descriptor (bcdHID bytes as bhyve)
  7, U.UDESC_ENDPOINT, 0x80 | UMOUSE_INTR_ENDPT, 3, 8, 0, 0x0a, // interrupt IN, 8 bytes, interval 10
  6, U.UDESC_ENDPOINT_SS_COMP, 0, 0, 0, 0,
);

export const BOS_DESCRIPTOR = Uint8Array.of(5, U.UDESC_BOS, 15, 0, 1, 10, U.UDESC_DEVICE_CAPABILITY, 3, 0, 0x08, 0, 3, 0x0a, 0x20, 0x00);

export class UsbTablet implements UsbDevice {
  readonly usbVersion = 3 as const;
  readonly speed = U.USB_SPEED_SUPER;
  readonly name = 'tablet';
  private report = new Uint8Array(REPORT_SIZE);
  private newData = false;
  private idle = 0;
  private protocol = 1;
  private remoteWakeup = false;
  private wake: ((ep: number) => void) | undefined;

  constructor(private readonly console?: GuestConsole) {
    console?.registerPointer((b, x, y) => this.pointer(b, x, y), 10);
  }

  setWake(wake: ((ep: number) => void) | undefined): void {
    this.wake = wake;
  }

  reset(): void {
    this.protocol = 1;
    this.idle = 0;
  }

  /** An RFB pointer event at (x, y) on the console's display. */
  pointer(buttons: number, x: number, y: number): void {
    const { width, height } = this.console?.size ?? { width: 0, height: 0 };
    if (width === 0 || height === 0) return;
    const r = new Uint8Array(REPORT_SIZE);
    const dv = new DataView(r.buffer);
    r[0] = (buttons & 0x01 ? 0x01 : 0) | (buttons & 0x02 ? 0x04 : 0) | (buttons & 0x04 ? 0x02 : 0);
    const cx = Math.max(0, Math.min(x, width - 1));
    const cy = Math.max(0, Math.min(y, height - 1));
    dv.setInt16(1, Math.floor((MOUSE_MAX * cx) / width), true);
    dv.setInt16(3, Math.floor((MOUSE_MAX * cy) / height), true);
    dv.setInt8(5, buttons & 0x08 ? 1 : buttons & 0x10 ? -1 : 0);
    this.report = r;
    this.newData = true;
    this.wake?.(UMOUSE_INTR_ENDPT);
  }

  interruptIn(ep: number, maxLength: number): Uint8Array | undefined {
    if (ep !== UMOUSE_INTR_ENDPT || !this.newData) return undefined;
    this.newData = false;
    return this.report.subarray(0, Math.min(REPORT_SIZE, maxLength));
  }

  private descriptor(type: number, index: number): Uint8Array | undefined {
    switch (type) {
      case U.UDESC_DEVICE:
        return index === 0 ? DEVICE_DESCRIPTOR : undefined;
      case U.UDESC_CONFIG:
        return index === 0 ? CONFIG_DESCRIPTOR : undefined;
      case U.UDESC_BOS:
        return BOS_DESCRIPTOR;
      case U.UDESC_STRING: {
        const s = STRINGS[index];
        if (s === undefined) return undefined;
        const b = new Uint8Array(2 + 2 * s.length);
        b[0] = b.length;
        b[1] = U.UDESC_STRING;
        for (let i = 0; i < s.length; i++) {
          b[2 + 2 * i] = s.charCodeAt(i) & 0xff;
          b[3 + 2 * i] = s.charCodeAt(i) >> 8;
        }
        return b;
      }
      default:
        return undefined;
    }
  }

  control(s: SetupPacket, _data: Uint8Array | undefined): ControlResult {
    const ok = (data?: Uint8Array): ControlResult => ({ kind: 'ok', data: data?.subarray(0, s.wLength) });
    const stall: ControlResult = { kind: 'stall' };
    const type = s.bmRequestType;
    const word = (v: number) => Uint8Array.of(v & 0xff, v >> 8);
    if (type === (U.UT_READ | U.UT_CLASS | U.UT_INTERFACE)) {
      switch (s.bRequest) {
        case UMOUSE_GET_REPORT:
          return s.wValue >> 8 === 0x01 && s.wLength >= REPORT_SIZE ? ok(this.report) : stall;
        case UMOUSE_GET_IDLE:
          return ok(Uint8Array.of(this.idle));
        case UMOUSE_GET_PROTOCOL:
          return ok(Uint8Array.of(this.protocol));
        default:
          return stall;
      }
    }
    if (type === (U.UT_CLASS | U.UT_INTERFACE)) {
      switch (s.bRequest) {
        case UMOUSE_SET_IDLE:
          this.idle = s.wValue >> 8;
          return ok();
        case UMOUSE_SET_PROTOCOL:
          this.protocol = s.wValue & 0xff;
          return ok();
        case UMOUSE_SET_REPORT:
          return ok();
        default:
          return stall;
      }
    }
    switch ((s.bRequest << 8) | type) {
      case (U.UR_GET_DESCRIPTOR << 8) | U.UT_READ: {
        const d = this.descriptor(s.wValue >> 8, s.wValue & 0xff);
        return d ? ok(d) : stall;
      }
      case (U.UR_GET_DESCRIPTOR << 8) | U.UT_READ | U.UT_INTERFACE:
        return s.wValue >> 8 === UMOUSE_REPORT_DESC_TYPE ? ok(REPORT_DESCRIPTOR) : stall;
      case (U.UR_GET_CONFIG << 8) | U.UT_READ:
        return ok(Uint8Array.of(1));
      case (U.UR_GET_INTERFACE << 8) | U.UT_READ | U.UT_INTERFACE:
        return s.wIndex === 0 ? ok(Uint8Array.of(0)) : stall;
      case (U.UR_GET_STATUS << 8) | U.UT_READ:
        return ok(word(this.remoteWakeup ? 2 : 0));
      case (U.UR_GET_STATUS << 8) | U.UT_READ | U.UT_INTERFACE:
      case (U.UR_GET_STATUS << 8) | U.UT_READ | U.UT_ENDPOINT:
        return ok(word(0));
      case U.UR_SET_ADDRESS << 8:
      case U.UR_SET_CONFIG << 8:
      case U.UR_SET_DESCRIPTOR << 8:
      case (U.UR_SET_INTERFACE << 8) | U.UT_INTERFACE:
      case U.UR_ISOCH_DELAY << 8:
      case U.UR_SET_SEL << 8:
      case (U.UR_SYNCH_FRAME << 8) | U.UT_ENDPOINT:
        return ok();
      case U.UR_CLEAR_FEATURE << 8:
        if (s.wValue === U.UF_DEVICE_REMOTE_WAKEUP) this.remoteWakeup = false;
        return ok();
      case U.UR_SET_FEATURE << 8:
        if (s.wValue === U.UF_DEVICE_REMOTE_WAKEUP) this.remoteWakeup = true;
        return ok();
      default:
        return stall;
    }
  }
}
