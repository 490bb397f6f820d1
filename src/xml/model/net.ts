/**
 * `<interface>` and `<hostdev>` of the DomainDef model (network and passthrough devices).
 *
 * Spec: libvirt docs/formatdomain.rst "Network interfaces" and "Host device assignment";
 * domain_conf.c virDomainNetDefFormat / virDomainHostdevDefFormat for element order.
 */

import type { DeviceInfo, OnOff, PciAddress, UsbAddress, VirtioOptions, XmlElement, YesNo } from './common.js';

export type InterfaceType =
  | 'user'
  | 'ethernet'
  | 'vhostuser'
  | 'server'
  | 'client'
  | 'mcast'
  | 'network'
  | 'bridge'
  | 'internal'
  | 'direct'
  | 'hostdev'
  | 'udp'
  | 'vdpa'
  | 'null'
  | 'vds';

/**
 * `<interface><source>`; which attributes apply depends on the interface type:
 * network → network, portgroup, portid; bridge → bridge; direct → dev, mode;
 * server/client/mcast/udp → address, port (+ `<local>`); vhostuser/vdpa → type, path,
 * mode / dev; internal → name; hostdev → `<address>` (see `hostdevAddress`).
 */
export interface InterfaceSource {
  network?: string;
  portgroup?: string;
  portid?: string;
  bridge?: string;
  dev?: string;
  mode?: string;
  address?: string;
  port?: number;
  type?: string;
  path?: string;
  name?: string;
  /** udp: `<local address port/>`. */
  local?: { address?: string; port?: number };
  /** hostdev: the PCI/USB address of the host function. */
  hostdevAddress?: PciAddress | UsbAddress;
  /** Other children of `<source>` (e.g. `<reconnect>`), verbatim. */
  extra?: XmlElement[];
}

/**
 * `<interface><driver>` (virtio-net tuning): backend, queues and offloads, then the virtio
 * options; host/guest offload children verbatim.
 */
export interface InterfaceDriver extends VirtioOptions {
  name?: 'qemu' | 'vhost' | 'kvm' | 'vfio' | 'xen';
  txmode?: 'iothread' | 'timer';
  ioeventfd?: OnOff;
  event_idx?: OnOff;
  queues?: number;
  rx_queue_size?: number;
  tx_queue_size?: number;
  rss?: OnOff;
  rss_hash_report?: OnOff;
  /** `<host>` / `<guest>` offload settings, verbatim. */
  host?: XmlElement;
  guest?: XmlElement;
}

export interface InterfaceDef extends DeviceInfo {
  type: InterfaceType;
  trustGuestRxFilters?: YesNo;
  /** type='hostdev': `managed`. */
  managed?: YesNo;
  /** `<mac address=''/>`; libvirt generates one (52:54:00:xx:xx:xx) when absent. */
  mac: { address: string; type?: 'generated' | 'static'; check?: YesNo };
  source?: InterfaceSource;
  virtualport?: XmlElement;
  /** `<ip address prefix peer/>` elements and `<route>`s, verbatim. */
  ips?: XmlElement[];
  routes?: XmlElement[];
  script?: string;
  downscript?: string;
  backenddomain?: string;
  /** `<target dev='' managed=''/>`: host-side device name. */
  target?: { dev: string; managed?: YesNo };
  guest?: { dev?: string; actual?: string };
  /** `<model type=''/>`: virtio, e1000, rtl8139, ... */
  model?: string;
  driver?: InterfaceDriver;
  backend?: { tap?: string; vhost?: string; type?: string; logFile?: string };
  filterref?: XmlElement;
  tune?: { sndbuf?: number };
  teaming?: { type: 'persistent' | 'transient'; persistent?: string };
  link?: { state: 'up' | 'down' };
  mtu?: { size: number };
  bandwidth?: XmlElement;
  vlan?: XmlElement;
  port?: { isolated: YesNo };
  coalesce?: XmlElement;
  /** Other children kept verbatim (e.g. `<portForward>`), written after the known ones. */
  extra?: XmlElement[];
}

/** `<hostdev>`. */
export interface HostdevDef extends DeviceInfo {
  mode: 'subsystem' | 'capabilities';
  /** subsystem: pci, usb, scsi, scsi_host, mdev; capabilities: storage, misc, net. */
  type: 'pci' | 'usb' | 'scsi' | 'scsi_host' | 'mdev' | 'storage' | 'misc' | 'net';
  managed?: YesNo;
  /** mdev: `model`, `display`, `ramfb`. */
  model?: string;
  display?: OnOff;
  ramfb?: OnOff;
  sgio?: 'filtered' | 'unfiltered';
  rawio?: YesNo;
  /**
   * `<source>`: pci → `address` (domain/bus/slot/function); usb → vendor/product ids
   * and/or `address` (bus/device); `startupPolicy`; other kinds keep the whole source
   * verbatim in `raw`.
   */
  source: {
    address?: { domain?: number; bus: number; slot?: number; function?: number; device?: number };
    vendor?: number;
    product?: number;
    startupPolicy?: 'mandatory' | 'requisite' | 'optional';
    guestReset?: 'off' | 'uefi' | 'on';
    writeFiltering?: YesNo;
    raw?: XmlElement;
  };
  /** `<driver name='vfio|kvm|xen'/>` (PCI). */
  driver?: { name: string };
  readonly?: true;
  shareable?: true;
  /** capabilities mode: `<source><block>` etc. and other children, verbatim. */
  extra?: XmlElement[];
}
