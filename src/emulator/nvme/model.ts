/**
 * The `nvme` PCI model: a `pci.B.S.F` node → an NvmeController (bhyve pci_nvme.c
 * pci_nvme_parse_config; keys as bhyve_config(5): `path` + block options or `ram=MiB`,
 * `maxq`, `qsz`, `ioslots`, `sectsz`, `ser`, `eui64`, `dsm`, `bootindex`).
 *
 * Defaults as bhyve: maxq 16, qsz 2048, ioslots 8, sectsz the backend's logical sector
 * size (4096 for RAM), ser `NVME-<slot>-<func>`, EUI-64 from the FreeBSD OUI and a CRC of
 * "<vm><bus><slot><func>", dsm auto. Where bhyve silently falls back on a malformed value
 * (atoi of garbage, maxq out of range, an unknown dsm word), tsbhyve refuses it with a
 * ConfigError naming the slot and key. A given eui64 is reported most significant byte
 * first (bhyve byte-swaps a user-supplied value).
 */
import { ConfigError } from '../config/errors.js';
import type { ConfigNode } from '../config/tree.js';
import { parseInteger } from '../config/values.js';
import type { PciFunction } from '../pci/function.js';
import { bootIndex, openBlock, slotError, type PciModelContext } from '../pci/models.js';
import { NvmeController, type DsmMode, type NvmeOptions } from './device.js';
import { defaultEui64, defaultSerial, subsystemNqn } from './identify.js';
import { MAX_RAM_MIB, RamBackend } from './ram-backend.js';
import { NVME_IOSLOTS, NVME_MAX_QENTRIES, NVME_QUEUES } from './regs.js';

function intKey(fn: PciFunction, node: ConfigNode, key: string, def: number, min: number, max: number, what: string): number {
  const v = node.get(key);
  if (v === undefined) return def;
  const n = parseInteger(v, min, max);
  if (n === undefined) throw slotError(fn, `nvme: Invalid ${key} option ${v} (${what})`);
  return n;
}

export async function buildNvme(ctx: PciModelContext, fn: PciFunction, node: ConfigNode): Promise<void> {
  const maxQueues = intKey(fn, node, 'maxq', NVME_QUEUES, 1, NVME_QUEUES, `1..${NVME_QUEUES}`);
  const maxEntries = intKey(fn, node, 'qsz', NVME_MAX_QENTRIES, 2, 65536, '2..65536');
  const ioSlots = intKey(fn, node, 'ioslots', NVME_IOSLOTS, 1, 65536, '1..65536');
  const sectsz = node.get('sectsz');
  if (sectsz !== undefined && !['512', '4096', '8192'].includes(sectsz)) throw slotError(fn, `nvme: Invalid sectsz option ${sectsz} (512, 4096 or 8192)`);
  const dsm = node.get('dsm') ?? 'auto';
  if (dsm !== 'auto' && dsm !== 'enable' && dsm !== 'disable') throw slotError(fn, `nvme: Invalid dsm option ${dsm} (auto, enable or disable)`);
  const euiStr = node.get('eui64');
  let eui64 = defaultEui64(ctx.vmName, fn.bus, fn.slot, fn.func);
  if (euiStr !== undefined) {
    try {
      eui64 = BigInt(euiStr);
    } catch {
      throw slotError(fn, `nvme: Invalid eui64 option ${euiStr}`);
    }
    if (eui64 <= 0n || eui64 >= 1n << 64n) throw slotError(fn, `nvme: Invalid eui64 option ${euiStr}`);
  }
  const ram = node.get('ram');
  let backend;
  if (ram !== undefined) {
    const mib = parseInteger(ram, 1, MAX_RAM_MIB);
    if (mib === undefined || !/^\d+$/.test(ram)) throw slotError(fn, `nvme: Invalid ram option ${ram} (MiB, 1..${MAX_RAM_MIB})`);
    const ramBackend = new RamBackend(mib, sectsz !== undefined ? Number(sectsz) : 4096);
    ctx.closers.push(() => ramBackend.close());
    backend = ramBackend;
  } else {
    if (node.get('path') === undefined) throw slotError(fn, 'nvme: needs a backing path or ram=MiB');
    backend = await openBlock(ctx, fn, node);
  }
  bootIndex(ctx, fn, node);
  const opts: NvmeOptions = {
    maxQueues,
    maxEntries,
    ioSlots,
    sectorSize: sectsz !== undefined ? Number(sectsz) : backend.sectorSize,
    serial: (node.get('ser') ?? defaultSerial(fn.slot, fn.func)).slice(0, 20),
    eui64,
    dsm: dsm as DsmMode,
    subnqn: subsystemNqn(ctx.vmName, fn.bus, fn.slot, fn.func),
  };
  try {
    const nvme = new NvmeController(fn, ctx.memory, backend, opts, ctx.log);
    ctx.closers.push(() => nvme.idle());
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw slotError(fn, (e as Error).message);
  }
}
