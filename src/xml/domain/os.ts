/**
 * `<os>`, `<bootloader>`, `<bootloader_args>`: parse and format (libvirt
 * virDomainDefParseBootOptions / virDomainDefFormatInternal's os block).
 * `<bootloader_args>` is written only with a `<bootloader>`, as libvirt does.
 *
 * Written in libvirt's order: type, firmware features, init*, loader, nvram, kernel,
 * initrd, cmdline, dtb, root, acpi tables, boot devs, bootmenu, bios, smbios.
 * `firmware='efi|bios'` asks for autoselection; a loader with readonly/type together with
 * autoselection is refused as libvirt 9 does. Spec: docs/formatdomain.rst "Operating
 * system booting".
 */

import { VIR_ERR_OS_TYPE, VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, VirError, xmlError } from '../errors.js';
import { attr, type Writer } from '../format/writer.js';
import { enumAttr, enumSet, intAttr, uintAttr, yesNoAttr } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { BootDev, OsDef, OsType } from '../types.js';

const OS_TYPES = enumSet('hvm', 'xen', 'linux', 'xenpvh', 'exe', 'uml');
const BOOT_DEVS = enumSet('fd', 'cdrom', 'hd', 'network');
const FIRMWARES = enumSet('bios', 'efi');
const LOADER_TYPES = enumSet('rom', 'pflash');
const FORMATS = enumSet('raw', 'qcow2');
const SMBIOS = enumSet('emulate', 'host', 'sysinfo');
const ARCH_RE = /^[a-z0-9_]+$/;
/** libvirt caps boot devices at VIR_DOMAIN_BOOT_LAST (4). */
const MAX_BOOT_DEVS = 4;

/** Parses `<os>`; `defaultArch` fills an absent arch (libvirt: the host's). */
export function parseOs(el: Elem | undefined, defaultArch: string): OsDef {
  if (!el) throw new VirError(VIR_ERR_OS_TYPE, VIR_FROM_DOMAIN, 'unknown OS type: an os element is required');
  const t = el.child('type');
  if (!t) throw new VirError(VIR_ERR_OS_TYPE, VIR_FROM_DOMAIN, 'unknown OS type: an os type must be specified');
  const typeText = t.text().trim();
  if (!OS_TYPES.has(typeText)) throw new VirError(VIR_ERR_OS_TYPE, VIR_FROM_DOMAIN, `unknown OS type: '${typeText}'`);
  const os: OsDef = { type: typeText === 'linux' ? 'xen' : (typeText as OsType), boots: [] };
  const arch = t.attr('arch');
  if (arch !== undefined) {
    if (!ARCH_RE.test(arch)) throw new VirError(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, `Unknown architecture ${arch}`);
    os.arch = arch;
  } else os.arch = defaultArch;
  const machine = t.attr('machine');
  if (machine !== undefined) os.machine = machine;
  const fw = enumAttr<'bios' | 'efi'>(el, 'firmware', FIRMWARES);
  if (fw !== undefined) os.firmware = fw;

  for (const c of el.children()) {
    switch (c.name) {
      case 'firmware':
        for (const f of c.childrenNamed('feature')) {
          const enabled = yesNoAttr(f, 'enabled');
          const name = f.attr('name');
          if (enabled === undefined || name === undefined) throw xmlError(`invalid firmware feature: 'enabled' and 'name' are required`);
          (os.firmwareFeatures ??= []).push({ enabled, name });
        }
        break;
      case 'loader': {
        const l: NonNullable<OsDef['loader']> = {};
        const path = c.text().trim();
        if (path !== '') l.path = path;
        const ro = yesNoAttr(c, 'readonly');
        if (ro !== undefined) l.readonly = ro;
        const type = enumAttr<'rom' | 'pflash'>(c, 'type', LOADER_TYPES);
        if (type !== undefined) l.type = type;
        const secure = yesNoAttr(c, 'secure');
        if (secure !== undefined) l.secure = secure;
        const stateless = yesNoAttr(c, 'stateless');
        if (stateless !== undefined) l.stateless = stateless;
        const format = enumAttr<'raw' | 'qcow2'>(c, 'format', FORMATS);
        if (format !== undefined) l.format = format;
        os.loader = l;
        break;
      }
      case 'nvram': {
        const n: NonNullable<OsDef['nvram']> = {};
        const src = c.child('source');
        if (src) {
          n.source = src.toXmlElement();
          const ty = c.attr('type');
          if (ty !== undefined) n.type = ty;
        } else {
          const path = c.text().trim();
          if (path !== '') n.path = path;
        }
        const tmpl = c.attr('template');
        if (tmpl !== undefined) n.template = tmpl;
        const format = enumAttr<'raw' | 'qcow2'>(c, 'format', FORMATS);
        if (format !== undefined) n.format = format;
        const tf = enumAttr<'raw' | 'qcow2'>(c, 'templateFormat', FORMATS);
        if (tf !== undefined) n.templateFormat = tf;
        os.nvram = n;
        break;
      }
      case 'kernel':
      case 'initrd':
      case 'cmdline':
      case 'dtb':
      case 'root':
      case 'init':
      case 'initdir':
        os[c.name] ??= c.text();
        break;
      case 'initarg':
        (os.initargs ??= []).push(c.text());
        break;
      case 'initenv': {
        const name = c.attr('name');
        if (name === undefined) throw xmlError(`No name supplied for <initenv> element`);
        (os.initenvs ??= []).push({ name, value: c.text() });
        break;
      }
      case 'acpi':
        for (const tb of c.childrenNamed('table')) {
          const type = tb.attr('type');
          if (type === undefined) throw xmlError(`Missing acpi table type`);
          (os.acpiTables ??= []).push({ type, path: tb.text() });
        }
        break;
      case 'boot': {
        const dev = c.attr('dev');
        if (dev === undefined) throw xmlError(`missing boot device`);
        if (!BOOT_DEVS.has(dev)) throw xmlError(`unknown boot device '${dev}'`);
        if (os.boots.length < MAX_BOOT_DEVS) os.boots.push(dev as BootDev);
        break;
      }
      case 'bootmenu': {
        const enable = yesNoAttr(c, 'enable');
        if (enable !== undefined) {
          os.bootmenu = { enable };
          const timeout = uintAttr(c, 'timeout');
          if (timeout !== undefined) {
            if (timeout > 65535) throw xmlError(`invalid value for boot menu timeout, must be in range [0,65535]`);
            os.bootmenu.timeout = timeout;
          }
        }
        break;
      }
      case 'bios': {
        const b: NonNullable<OsDef['bios']> = {};
        const us = yesNoAttr(c, 'useserial');
        if (us !== undefined) b.useserial = us;
        const rt = intAttr(c, 'rebootTimeout', -1, 65535);
        if (rt !== undefined) b.rebootTimeout = rt;
        os.bios = b;
        break;
      }
      case 'smbios': {
        const mode = enumAttr<'emulate' | 'host' | 'sysinfo'>(c, 'mode', SMBIOS);
        if (mode === undefined) throw xmlError(`missing smbios mode`);
        os.smbios = { mode };
        break;
      }
      default:
        break;
    }
  }
  if (os.firmware !== undefined && os.loader && (os.loader.readonly !== undefined || os.loader.type !== undefined) && os.loader.path === undefined) {
    // libvirt 9 refuses loader details that autoselection decides itself
    throw new VirError(
      VIR_ERR_XML_DETAIL,
      VIR_FROM_DOMAIN,
      `loader attribute '${os.loader.readonly !== undefined ? 'readonly' : 'type'}' cannot be specified when firmware autoselection is enabled`,
    );
  }
  return os;
}

/**
 * Writes `<bootloader>`/`<bootloader_args>` (before `<os>`). As libvirt
 * (virDomainDefFormatInternal), the arguments are written only together with a
 * bootloader: without one they stay in the model (the bhyve driver hands them to
 * bhyveload) but are not part of the formatted definition.
 */
export function formatBootloader(w: Writer, bootloader: string | undefined, args: string | undefined): void {
  if (bootloader === undefined) return;
  w.textElem('bootloader', '', bootloader);
  if (args !== undefined) w.textElem('bootloader_args', '', args);
}

/** Writes `<os>`. */
export function formatOs(w: Writer, os: OsDef): void {
  w.open('os', attr('firmware', os.firmware));
  w.textElem('type', `${attr('arch', os.arch)}${attr('machine', os.machine)}`, os.type);
  if (os.firmwareFeatures) {
    w.open('firmware', '');
    for (const f of os.firmwareFeatures) w.empty('feature', ` enabled='${f.enabled}' name='${f.name}'`);
    w.close('firmware');
  }
  if (os.init !== undefined) w.textElem('init', '', os.init);
  if (os.initargs) for (const a of os.initargs) w.textElem('initarg', '', a);
  if (os.initenvs) for (const e of os.initenvs) w.textElem('initenv', attr('name', e.name), e.value);
  if (os.initdir !== undefined) w.textElem('initdir', '', os.initdir);
  if (os.loader) {
    const l = os.loader;
    const a = attr('readonly', l.readonly) + attr('secure', l.secure) + attr('type', l.type) + attr('stateless', l.stateless) + attr('format', l.format);
    if (l.path !== undefined) w.textElem('loader', a, l.path);
    else if (a !== '') w.empty('loader', a);
  }
  if (os.nvram) {
    const n = os.nvram;
    const a = attr('template', n.template) + attr('templateFormat', n.templateFormat) + attr('type', n.type) + attr('format', n.format);
    if (n.source) {
      w.open('nvram', a);
      w.raw(n.source);
      w.close('nvram');
    } else if (n.path !== undefined) w.textElem('nvram', a, n.path);
    else if (a !== '') w.empty('nvram', a);
  }
  if (os.kernel !== undefined) w.textElem('kernel', '', os.kernel);
  if (os.initrd !== undefined) w.textElem('initrd', '', os.initrd);
  if (os.cmdline !== undefined) w.textElem('cmdline', '', os.cmdline);
  if (os.dtb !== undefined) w.textElem('dtb', '', os.dtb);
  if (os.root !== undefined) w.textElem('root', '', os.root);
  if (os.acpiTables) {
    w.open('acpi', '');
    for (const t of os.acpiTables) w.textElem('table', ` type='${t.type}'`, t.path);
    w.close('acpi');
  }
  for (const b of os.boots) w.empty('boot', ` dev='${b}'`);
  if (os.bootmenu) w.empty('bootmenu', ` enable='${os.bootmenu.enable}'${attr('timeout', os.bootmenu.timeout)}`);
  if (os.bios) w.empty('bios', attr('useserial', os.bios.useserial) + attr('rebootTimeout', os.bios.rebootTimeout));
  if (os.smbios) w.empty('smbios', ` mode='${os.smbios.mode}'`);
  w.close('os');
}
