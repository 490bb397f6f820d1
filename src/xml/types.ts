/**
 * The DomainDef type model: one import point for everything the XML layer produces and
 * consumes, plus the parse/format option types and the driver hook interface.
 *
 * Naming conventions (binding for every consumer):
 * - A property is named exactly like the XML attribute or element it holds:
 *   `def.on_poweroff`, `disk.target.rotation_rate`, `controller.ports`, `os.loader.readonly`.
 *   Nested elements stay nested: `<disk><target dev/>` → `disk.target.dev`,
 *   `<interface><mac address/>` → `iface.mac.address`, `<video><model type/>` →
 *   `video.model.type`. Single-attribute elements whose attribute is the whole meaning are
 *   flattened to that value where libvirt does the same internally: `<model type=''/>` of
 *   an interface → `iface.model`, `<driver name=''/>` of a hostdev → `hostdev.driver.name`.
 * - Repeated elements become arrays named with the plural: `<boot dev/>` → `os.boots`,
 *   `<disk>` → `devices.disks`, `<interface>` → `devices.interfaces`, `<feature>` →
 *   `cpu.features`, `<timer>` → `clock.timers`. `<graphics>` → `devices.graphics`.
 * - Flag elements (`<readonly/>`, `<shareable/>`, `<acpi/>`, `<locked/>`) are `true` when
 *   present and absent otherwise. Tristates stay strings: `'yes'|'no'`, `'on'|'off'`.
 * - Enumerations are string unions of libvirt's own spellings (`'nec-xhci'`, `'pci-root'`).
 * - Sizes are KiB numbers (`memory`, `currentMemory`, NUMA cell memory, hugepage size);
 *   the formatter writes `unit='KiB'` like libvirt. PCI address parts are numbers.
 * - Per-device info (`boot`, `alias`, `address`, `rom`, `acpi`) sits directly on the device
 *   (`disk.address`, `iface.boot.order`), never in a nested `info` object.
 * - Elements libvirt knows but tsvirt does not interpret are `XmlElement`s kept verbatim
 *   (`def.passthrough.numatune`, `devices.smartcards`, `disk.iotune`): they round-trip, and
 *   the driver refuses them when it must.
 */

export type * from './model/common.js';
export type * from './model/domain.js';
export type * from './model/os.js';
export type * from './model/cpu.js';
export type * from './model/disk.js';
export type * from './model/net.js';
export type * from './model/chardev.js';
export type * from './model/devices.js';
export type * from './model/hooks.js';
export type * from './model/capabilities.js';
