/**
 * `<blkiotune>` and `<memtune>`: parse and format (libvirt virDomainDefTunablesParse,
 * virDomainBlkioDeviceParseXML, virDomainDefFormatBlkiotune, virDomainMemtuneFormat).
 *
 * Typed rather than kept verbatim because libvirt rewrites both: children come out in its
 * own order (blkiotune: weight, then per device path, weight, read_iops_sec,
 * write_iops_sec, read_bytes_sec, write_bytes_sec; memtune: hard_limit, soft_limit,
 * min_guarantee, swap_hard_limit), limits in KiB, zero values and unlimited limits left out,
 * unknown children dropped.
 *
 * Errors as libvirt 9.0: a device without `<path>` or with a malformed number is
 * VIR_ERR_CONFIG_UNSUPPORTED ("could not parse weight x"); a malformed domain weight is
 * ignored (0); a malformed memtune size is VIR_ERR_XML_ERROR naming './memtune/x[1]'.
 * Difference: libvirt reads "-N" as 2^32-N (2^64-N for byte rates); tsvirt refuses
 * negative numbers, and byte rates above 2^53-1, with the same message.
 * Spec: docs/formatdomain.rst "Block I/O Tuning", "Memory Tuning".
 */

import { VIR_ERR_OVERFLOW, VIR_FROM_DOMAIN, VirError, configUnsupported } from '../errors.js';
import type { Writer } from '../format/writer.js';
import { parseSizeKiB, parseUnsigned, UINT_MAX, ULLONG_SAFE } from '../parse/values.js';
import type { Elem } from '../parse/xml-tree.js';
import type { BlkioDeviceDef, BlkiotuneDef, MemtuneDef } from '../types.js';

/** VIR_DOMAIN_MEMORY_PARAM_UNLIMITED: INT64_MAX >> 10 KiB, "no limit". */
export const MEMORY_PARAM_UNLIMITED = 9007199254740991;

/** Per-device numbers: element, libvirt's word for it in messages, largest value. */
const DEVICE_NUMBERS = [
  ['weight', 'weight', UINT_MAX],
  ['read_bytes_sec', 'read bytes sec', ULLONG_SAFE],
  ['write_bytes_sec', 'write bytes sec', ULLONG_SAFE],
  ['read_iops_sec', 'read iops sec', UINT_MAX],
  ['write_iops_sec', 'write iops sec', UINT_MAX],
] as const;

/** virDomainBlkioDeviceParseXML: the first of each child counts; path is required. */
function parseBlkioDevice(el: Elem): BlkioDeviceDef {
  const path = el.child('path')?.text() ?? '';
  if (path === '') throw configUnsupported('missing per-device path');
  const dev: BlkioDeviceDef = { path };
  for (const [name, word, max] of DEVICE_NUMBERS) {
    const c = el.child(name);
    if (c === undefined) continue;
    const text = c.text();
    if (text === '') continue;
    const n = parseUnsigned(text, 10, max);
    if (Number.isNaN(n)) throw configUnsupported(`could not parse ${word} ${text.slice(0, 64)}`);
    if (n !== 0) dev[name] = n;
  }
  return dev;
}

/** Reads `<blkiotune>`. */
export function parseBlkiotune(el: Elem): BlkiotuneDef {
  const out: BlkiotuneDef = { devices: [] };
  const weight = el.child('weight');
  if (weight) {
    // virXPathUInt: a value that is not a number leaves the weight unset
    const n = parseUnsigned(weight.text(), 10, UINT_MAX);
    if (!Number.isNaN(n) && n !== 0) out.weight = n;
  }
  for (const c of el.children()) if (c.name === 'device') out.devices.push(parseBlkioDevice(c));
  return out;
}

/** Writes `<blkiotune>` (nothing when it has nothing to say). */
export function formatBlkiotune(w: Writer, b: BlkiotuneDef): void {
  const devices = b.devices.filter((d) => d.weight || d.read_iops_sec || d.write_iops_sec || d.read_bytes_sec || d.write_bytes_sec);
  if (!b.weight && devices.length === 0) return;
  w.open('blkiotune', '');
  if (b.weight) w.textElem('weight', '', String(b.weight));
  for (const d of devices) {
    w.open('device', '');
    w.textElem('path', '', d.path);
    if (d.weight) w.textElem('weight', '', String(d.weight));
    if (d.read_iops_sec) w.textElem('read_iops_sec', '', String(d.read_iops_sec));
    if (d.write_iops_sec) w.textElem('write_iops_sec', '', String(d.write_iops_sec));
    if (d.read_bytes_sec) w.textElem('read_bytes_sec', '', String(d.read_bytes_sec));
    if (d.write_bytes_sec) w.textElem('write_bytes_sec', '', String(d.write_bytes_sec));
    w.close('device');
  }
  w.close('blkiotune');
}

const LIMITS = ['hard_limit', 'soft_limit', 'swap_hard_limit'] as const;

/** Reads `<memtune>`: limits are truncated to unlimited, min_guarantee must fit. */
export function parseMemtune(el: Elem): MemtuneDef {
  const out: MemtuneDef = {};
  for (const name of LIMITS) {
    const c = el.child(name);
    if (c === undefined || c.text() === '') continue;
    const kib = parseSizeKiB(c.text(), c.attr('unit'), `./memtune/${name}[1]`);
    if (kib < MEMORY_PARAM_UNLIMITED) out[name] = kib;
  }
  const mg = el.child('min_guarantee');
  if (mg !== undefined && mg.text() !== '') {
    const kib = parseSizeKiB(mg.text(), mg.attr('unit'), './memtune/min_guarantee[1]');
    if (kib > MEMORY_PARAM_UNLIMITED) throw new VirError(VIR_ERR_OVERFLOW, VIR_FROM_DOMAIN, 'numerical overflow: size value too large');
    if (kib !== 0) out.min_guarantee = kib;
  }
  return out;
}

/** Writes `<memtune>` in libvirt's order (nothing when no limit is set). */
export function formatMemtune(w: Writer, m: MemtuneDef): void {
  if (m.hard_limit === undefined && m.soft_limit === undefined && !m.min_guarantee && m.swap_hard_limit === undefined) return;
  w.open('memtune', '');
  if (m.hard_limit !== undefined) w.textElem('hard_limit', " unit='KiB'", String(m.hard_limit));
  if (m.soft_limit !== undefined) w.textElem('soft_limit', " unit='KiB'", String(m.soft_limit));
  if (m.min_guarantee) w.textElem('min_guarantee', " unit='KiB'", String(m.min_guarantee));
  if (m.swap_hard_limit !== undefined) w.textElem('swap_hard_limit', " unit='KiB'", String(m.swap_hard_limit));
  w.close('memtune');
}
