/**
 * Character devices of the DomainDef model: `<serial>`, `<parallel>`, `<console>`,
 * `<channel>` (and the chardev backend embedded in `<rng><backend model='egd'>`).
 *
 * Spec: libvirt docs/formatdomain.rst "Consoles, serial, parallel & channel devices";
 * domain_conf.c virDomainChrDefFormat / virDomainChrSourceDefFormat.
 */

import type { DeviceInfo, YesNo } from './common.js';

/** libvirt virDomainChrType. `nmdm` is FreeBSD's null-modem pair used by bhyve. */
export type ChrType =
  | 'null'
  | 'vc'
  | 'pty'
  | 'dev'
  | 'file'
  | 'pipe'
  | 'stdio'
  | 'udp'
  | 'tcp'
  | 'unix'
  | 'spicevmc'
  | 'spiceport'
  | 'nmdm'
  | 'qemu-vdagent'
  | 'dbus';

/** One `<source/>` element of a chardev. */
export interface ChrSourceElement {
  /** pty (live), dev, file, pipe, unix. */
  path?: string;
  /** file: `append`. */
  append?: 'on' | 'off';
  /** tcp/udp/unix: bind or connect. */
  mode?: 'bind' | 'connect';
  host?: string;
  service?: string;
  /** tcp: `tls`. */
  tls?: YesNo;
  /** nmdm: the two ends of the pair (`/dev/nmdmNA`, `/dev/nmdmNB`). */
  master?: string;
  slave?: string;
  /** spicevmc/spiceport channel name. */
  channel?: string;
  /** `<seclabel>`/`<reconnect>` children are not modelled. */
}

/** The backend half of a chardev: `type` plus its `<source>` elements and options. */
export interface ChrSource {
  type: ChrType;
  /** `<source>` elements in order (udp has two: connect + bind). Empty for null/vc/stdio. */
  sources: ChrSourceElement[];
  /** tcp: `<protocol type='raw|telnet|telnets|tls'/>`. */
  protocol?: 'raw' | 'telnet' | 'telnets' | 'tls';
  /** `<log file='' append=''/>`. */
  log?: { file: string; append?: 'on' | 'off' };
  /** Live XML: the pty allocated at start (`tty` attribute / source path). */
  tty?: string;
}

/** `<target>` of a serial/console/channel/parallel. */
export interface ChrTarget {
  /**
   * serial: isa-serial, usb-serial, pci-serial, spapr-vio-serial, system-serial, sclp-serial,
   * isa-debug; console: serial, virtio, xen, lxc, openvz, sclp, sclplm;
   * channel: virtio, guestfwd, xen.
   */
  type?: string;
  port?: number;
  /** channel virtio/xen: `name`. */
  name?: string;
  /** channel virtio, live: `state='connected|disconnected'`. */
  state?: 'connected' | 'disconnected';
  /** channel guestfwd: `address`, `port`. */
  address?: string;
  /** serial: `<model name=''/>` inside target (isa-serial, pl011, 16550a, ...). */
  model?: string;
}

/** `<serial>`, `<parallel>`, `<console>` or `<channel>`. */
export interface ChrDef extends DeviceInfo, ChrSource {
  target: ChrTarget;
}
