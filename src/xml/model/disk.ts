/**
 * `<disk>`, `<controller>` and `<filesystem>` of the DomainDef model (storage devices).
 *
 * Spec: libvirt docs/formatdomain.rst "Hard drives, floppy disks, CDROMs", "Controllers",
 * "Filesystems"; domain_conf.c virDomainDiskDefFormat / virDomainControllerDefFormat /
 * virDomainFSDefFormat for element order.
 */

import type { DeviceInfo, OnOff, XmlElement, YesNo } from './common.js';

export type DiskType = 'file' | 'block' | 'dir' | 'network' | 'volume' | 'nvme' | 'vhostuser' | 'vhostvdpa' | 'ctl';
export type DiskDevice = 'disk' | 'cdrom' | 'floppy' | 'lun';
export type DiskBus = 'ide' | 'fdc' | 'scsi' | 'virtio' | 'xen' | 'usb' | 'uml' | 'sata' | 'sd' | 'nvme';

/** `<disk><driver>`: attributes in libvirt's order. */
export interface DiskDriver {
  name?: string;
  type?: string;
  cache?: 'default' | 'none' | 'writethrough' | 'writeback' | 'directsync' | 'unsafe';
  error_policy?: 'stop' | 'report' | 'ignore' | 'enospace';
  rerror_policy?: 'stop' | 'report' | 'ignore';
  io?: 'threads' | 'native' | 'io_uring';
  ioeventfd?: OnOff;
  event_idx?: OnOff;
  copy_on_read?: OnOff;
  discard?: 'unmap' | 'ignore';
  iothread?: number;
  detect_zeroes?: 'off' | 'on' | 'unmap';
  queues?: number;
  queue_size?: number;
  metadata_cache?: XmlElement;
}

/** `<source><host name port transport socket/>` of network disks. */
export interface DiskSourceHost {
  name?: string;
  port?: string;
  transport?: 'tcp' | 'unix' | 'rdma';
  socket?: string;
}

/**
 * `<disk><source>`; which attributes apply depends on the disk type:
 * file → file; block → dev; dir → dir; network → protocol, name, query, tls, hosts;
 * volume → pool, volume, mode; ctl → dev.
 */
export interface DiskSource {
  file?: string;
  dev?: string;
  dir?: string;
  protocol?: 'nbd' | 'rbd' | 'sheepdog' | 'gluster' | 'iscsi' | 'http' | 'https' | 'ftp' | 'ftps' | 'tftp' | 'ssh' | 'vxhs' | 'nfs';
  name?: string;
  query?: string;
  tls?: YesNo;
  pool?: string;
  volume?: string;
  mode?: 'host' | 'direct';
  startupPolicy?: 'mandatory' | 'requisite' | 'optional';
  index?: number;
  hosts?: DiskSourceHost[];
  /** `<auth>`, `<encryption>`, `<reservations>`, `<seclabel>`, ... inside source, verbatim. */
  extra?: XmlElement[];
}

/** `<disk><target>`. */
export interface DiskTarget {
  dev: string;
  /** libvirt derives it from the dev prefix when absent (hd→ide, sd→sata/scsi, vd→virtio, ...). */
  bus?: DiskBus;
  tray?: 'open' | 'closed';
  removable?: OnOff;
  rotation_rate?: number;
}

export interface DiskDef extends DeviceInfo {
  type: DiskType;
  /** libvirt writes `disk` when absent. */
  device: DiskDevice;
  model?: 'virtio' | 'virtio-transitional' | 'virtio-non-transitional';
  rawio?: YesNo;
  sgio?: 'filtered' | 'unfiltered';
  snapshot?: 'no' | 'internal' | 'external' | 'manual';
  driver?: DiskDriver;
  /** `<auth>` written at disk level (legacy position), verbatim. */
  auth?: XmlElement;
  /** Absent for an empty cdrom/floppy. */
  source?: DiskSource;
  backingStore?: XmlElement;
  geometry?: { cyls: number; heads: number; secs: number; trans?: 'auto' | 'none' | 'lba' };
  blockio?: { logical_block_size?: number; physical_block_size?: number; discard_granularity?: number };
  target: DiskTarget;
  iotune?: XmlElement;
  readonly?: true;
  shareable?: true;
  transient?: { shareBacking?: YesNo };
  serial?: string;
  wwn?: string;
  vendor?: string;
  product?: string;
  /** `<encryption>` at disk level (legacy position), verbatim. */
  encryption?: XmlElement;
}

export type ControllerType =
  | 'ide'
  | 'fdc'
  | 'scsi'
  | 'sata'
  | 'virtio-serial'
  | 'ccid'
  | 'usb'
  | 'pci'
  | 'xenbus'
  | 'isa'
  | 'nvme';

/** USB controller models (libvirt virDomainControllerModelUSB). */
export type UsbControllerModel =
  | 'piix3-uhci'
  | 'piix4-uhci'
  | 'ehci'
  | 'ich9-ehci1'
  | 'ich9-uhci1'
  | 'ich9-uhci2'
  | 'ich9-uhci3'
  | 'vt82c686b-uhci'
  | 'pci-ohci'
  | 'nec-xhci'
  | 'qusb1'
  | 'qusb2'
  | 'qemu-xhci'
  | 'none';

/** PCI controller models (libvirt virDomainControllerModelPCI). */
export type PciControllerModel =
  | 'pci-root'
  | 'pcie-root'
  | 'pci-bridge'
  | 'dmi-to-pci-bridge'
  | 'pcie-root-port'
  | 'pcie-switch-upstream-port'
  | 'pcie-switch-downstream-port'
  | 'pci-expander-bus'
  | 'pcie-expander-bus'
  | 'pcie-to-pci-bridge';

/** SCSI controller models (libvirt virDomainControllerModelSCSI). */
export type ScsiControllerModel =
  | 'auto'
  | 'buslogic'
  | 'lsilogic'
  | 'lsisas1068'
  | 'vmpvscsi'
  | 'ibmvscsi'
  | 'virtio-scsi'
  | 'lsisas1078'
  | 'virtio-transitional'
  | 'virtio-non-transitional'
  | 'ncr53c90'
  | 'am53c974'
  | 'dc390';

export interface ControllerDef extends DeviceInfo {
  type: ControllerType;
  index: number;
  /** Model name, meaning depends on `type` (see the *ControllerModel unions). */
  model?: string;
  /** virtio-serial: `ports`, `vectors`; usb: `ports`. */
  ports?: number;
  vectors?: number;
  /** xenbus attributes. */
  maxGrantFrames?: number;
  maxEventChannels?: number;
  /** `<driver queues cmd_per_lun max_sectors ioeventfd iothread/>`. */
  driver?: {
    queues?: number;
    cmd_per_lun?: number;
    max_sectors?: number;
    ioeventfd?: OnOff;
    iothread?: number;
  };
  /** USB companion: `<master startport=''/>`. */
  master?: { startport: number };
  /** PCI: `<model name=''/>` (the emulator's device name). */
  modelName?: string;
  /** PCI: `<target chassisNr chassis port busNr hotplug memReserve><node>N</node></target>`. */
  target?: {
    chassisNr?: number;
    chassis?: number;
    port?: number;
    busNr?: number;
    index?: number;
    hotplug?: OnOff;
    memReserve?: number;
    node?: number;
  };
  /** PCI root: `<pcihole64 unit='KiB'>N</pcihole64>` (KiB). */
  pcihole64?: number;
  /** NVMe controller serial: `<serial>`. */
  serial?: string;
}

/** `<filesystem>`. */
export interface FilesystemDef extends DeviceInfo {
  type: 'mount' | 'block' | 'file' | 'template' | 'ram' | 'bind' | 'volume';
  accessmode?: 'passthrough' | 'mapped' | 'squash';
  model?: 'virtio' | 'virtio-transitional' | 'virtio-non-transitional';
  multidevs?: 'default' | 'remap' | 'forbid' | 'warn';
  fmode?: string;
  dmode?: string;
  driver?: {
    type?: 'path' | 'handle' | 'loop' | 'nbd' | 'ploop' | 'virtiofs';
    format?: string;
    wrpolicy?: 'immediate';
    queue?: number;
  };
  /** `<binary>` (virtiofsd options), verbatim. */
  binary?: XmlElement;
  /** mount/bind → dir; block → dev; file → file; template → name; ram → usage (KiB); volume → pool+volume; socket. */
  source?: {
    dir?: string;
    dev?: string;
    file?: string;
    name?: string;
    usage?: number;
    pool?: string;
    volume?: string;
    socket?: string;
  };
  target: { dir: string };
  readonly?: true;
  /** Bytes (libvirt writes `unit='bytes'`). */
  space_hard_limit?: number;
  /** Bytes. */
  space_soft_limit?: number;
}
