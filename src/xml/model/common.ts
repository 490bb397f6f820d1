/**
 * Shared pieces of the DomainDef model: tristates, device addresses, per-device info
 * (alias, boot order, address) and the raw element kept verbatim.
 *
 * Naming convention for the whole model (see types.ts): a property is named exactly as the
 * XML attribute or child element it comes from (`rotation_rate`, `currentMemory`,
 * `bootloader_args`); repeated child elements become an array named with the plural
 * (`<boot/>` → `boots`, `<disk/>` → `disks`); flag elements (`<readonly/>`) become `true`;
 * enumerations are string unions of libvirt's spellings. Sizes are stored normalised to KiB
 * (libvirt's internal unit) and numbers as JavaScript numbers (every value libvirt accepts
 * fits: memory is capped at 2^63 bytes = 2^53 KiB).
 * Spec: libvirt docs/formatdomain.rst, "Device Addresses" and "Common device elements".
 */

/** libvirt's virTristateBool as written in XML. */
export type YesNo = 'yes' | 'no';
/** libvirt's virTristateSwitch as written in XML. */
export type OnOff = 'on' | 'off';

/**
 * Virtio device options on a device's `<driver>` (libvirt virDomainVirtioOptions), written
 * in this order: iommu, ats, packed, page_per_vq.
 */
export interface VirtioOptions {
  iommu?: OnOff;
  ats?: OnOff;
  packed?: OnOff;
  page_per_vq?: OnOff;
}

/**
 * An element kept verbatim: parsed, stored and written back unchanged (attribute order,
 * children, text). Used for `<metadata>` children and for libvirt elements this model does
 * not break down (e.g. `<numatune>`, `<seclabel>`, `<perf>`): they survive a round trip
 * even though nothing in tsvirt interprets them.
 */
export interface XmlElement {
  /** Qualified name as written, e.g. `app1:foo` or `cputune`. */
  name: string;
  /** Attributes in document order (namespace declarations included). */
  attrs: Array<[name: string, value: string]>;
  /** Child elements and non-blank text, in document order. */
  children: Array<XmlElement | string>;
}

/** `<address type='pci' .../>`: numbers are stored as integers (formatted in hex). */
export interface PciAddress {
  type: 'pci';
  domain: number;
  bus: number;
  slot: number;
  function: number;
  multifunction?: OnOff;
  /** `<zpci uid fid/>` child (s390 only): kept verbatim. */
  zpci?: XmlElement;
}

/** `<address type='drive' controller bus target unit/>`. */
export interface DriveAddress {
  type: 'drive';
  controller: number;
  bus: number;
  target: number;
  unit: number;
}

/** `<address type='virtio-serial' controller bus port/>`. */
export interface VirtioSerialAddress {
  type: 'virtio-serial';
  controller: number;
  bus: number;
  port: number;
}

/** `<address type='ccid' controller slot/>`. */
export interface CcidAddress {
  type: 'ccid';
  controller: number;
  slot: number;
}

/** `<address type='usb' bus port/>`; port is a dotted hub path like `1.2`. */
export interface UsbAddress {
  type: 'usb';
  bus: number;
  port?: string;
}

/** `<address type='isa' iobase irq/>`. */
export interface IsaAddress {
  type: 'isa';
  iobase?: number;
  irq?: number;
}

/** `<address type='dimm' slot base/>`. */
export interface DimmAddress {
  type: 'dimm';
  slot?: number;
  base?: number;
}

/** Any other libvirt address type (spapr-vio, ccw, virtio-mmio, virtio-s390, unassigned). */
export interface OtherAddress {
  type: 'spapr-vio' | 'ccw' | 'virtio-mmio' | 'virtio-s390' | 'unassigned';
  /** Attributes other than `type`, in document order, as written. */
  attrs: Array<[name: string, value: string]>;
}

export type DeviceAddress =
  | PciAddress
  | DriveAddress
  | VirtioSerialAddress
  | CcidAddress
  | UsbAddress
  | IsaAddress
  | DimmAddress
  | OtherAddress;

/**
 * What every device may carry (libvirt's virDomainDeviceInfo), formatted after the
 * device's own children in this order: `<boot>`, `<alias>`, `<rom>`, `<acpi>`, `<address>`.
 */
export interface DeviceInfo {
  /** `<boot order='N' loadparm=''/>` (disks, interfaces, hostdevs, redirdevs). */
  boot?: { order: number; loadparm?: string };
  /**
   * `<alias name=''/>`. Aliases starting with `ua-` are user aliases and survive in
   * inactive XML; any other alias is runtime-assigned and only appears in live XML.
   */
  alias?: string;
  /** `<rom bar='on' file='' enabled='yes'/>` (PCI devices). */
  rom?: { bar?: OnOff; file?: string; enabled?: YesNo };
  /** `<acpi index='N'/>`. */
  acpi?: { index: number };
  address?: DeviceAddress;
}
