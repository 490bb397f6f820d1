/**
 * ATA IDENTIFY DEVICE and IDENTIFY PACKET DEVICE data (ATA8-ACS §7.16/7.17; bhyve
 * pci_ahci.c ata_identify_init and blockif_chs): 256 little-endian words built from the
 * port's backend and strings (model, serial, firmware revision, media rotation rate).
 * Strings are space padded and byte-swapped within words, as ATA requires.
 */
import type { BlockBackend } from '../backends/block/backend.js';

export interface IdentifyStrings {
  serial: string;
  revision: string;
  model: string;
  nmrr?: number;
}

/** blockif_chs: CHS geometry from the VHD specification's algorithm. */
export function chsGeometry(size: number, sectorSize: number): { c: number; h: number; s: number } {
  let sectors = Math.floor(size / sectorSize);
  if (sectors > 65535 * 16 * 255) sectors = 65535 * 16 * 255;
  let secpt: number;
  let heads: number;
  let hcyl: number;
  if (sectors >= 65536 * 16 * 63) {
    secpt = 255;
    heads = 16;
    hcyl = Math.floor(sectors / secpt);
  } else {
    secpt = 17;
    hcyl = Math.floor(sectors / secpt);
    heads = Math.floor((hcyl + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (hcyl >= heads * 1024 || heads > 16) {
      secpt = 31;
      heads = 16;
      hcyl = Math.floor(sectors / secpt);
    }
    if (hcyl >= heads * 1024) {
      secpt = 63;
      heads = 16;
      hcyl = Math.floor(sectors / secpt);
    }
  }
  return { c: Math.floor(hcyl / heads), h: heads, s: secpt };
}

function putString(words: Uint16Array, first: number, nwords: number, s: string): void {
  const b = Buffer.alloc(nwords * 2, 0x20);
  b.write(s.slice(0, nwords * 2), 'latin1');
  for (let i = 0; i < nwords; i++) words[first + i] = (b[2 * i]! << 8) | b[2 * i + 1]!;
}

export function identifyDisk(be: BlockBackend, str: IdentifyStrings, state: { multSectors: number; xferMode: number }): Uint8Array {
  const w = new Uint16Array(256);
  const sectors = Math.floor(be.size / be.sectorSize);
  const { c, h, s } = chsGeometry(be.size, be.sectorSize);
  w[0] = 0x0040; // fixed device
  w[1] = c;
  w[3] = h;
  w[6] = s;
  putString(w, 10, 10, str.serial);
  putString(w, 23, 4, str.revision);
  putString(w, 27, 20, str.model);
  w[47] = 0x8000 | 128;
  w[49] = (1 << 8) | (1 << 9) | (1 << 11); // DMA, LBA, IORDY
  w[50] = 0x4000;
  w[53] = 0x0006;
  if (state.multSectors) w[59] = 0x0100 | state.multSectors;
  const lba28 = Math.min(sectors, 0x0fffffff);
  w[60] = lba28 & 0xffff;
  w[61] = lba28 >>> 16;
  w[63] = 0x0007 | ((state.xferMode & 0xf8) === 0x20 ? 1 << (8 + (state.xferMode & 7)) : 0);
  w[64] = 0x0003;
  w[65] = w[66] = w[67] = w[68] = 120;
  w[75] = 31; // queue depth 32
  w[76] = 0x000e | (1 << 8); // SATA gen1-3, NCQ
  w[78] = 1 << 5; // software settings preservation ... / asynchronous notification
  w[80] = 0x01f0; // ATA/ATAPI-4..8
  w[81] = 0x0028;
  w[82] = (1 << 3) | (1 << 5) | (1 << 6) | (1 << 14); // power management, write cache, look-ahead, NOP
  w[83] = (1 << 10) | (1 << 12) | (1 << 13) | 0x4000; // LBA48, FLUSH CACHE, FLUSH CACHE EXT
  w[84] = 0x4000;
  w[85] = w[82];
  w[86] = w[83] & ~0x4000;
  w[87] = 0x4000;
  w[88] = 0x007f | ((state.xferMode & 0xf8) === 0x40 ? 1 << (8 + (state.xferMode & 7)) : 0);
  for (let i = 0; i < 4; i++) w[100 + i] = Math.floor(sectors / 2 ** (16 * i)) & 0xffff;
  let w106 = 0x4000;
  const pexp = Math.log2(be.physSectorSize / be.sectorSize);
  if (Number.isInteger(pexp) && pexp > 0) w106 |= 0x2000 | pexp;
  if (be.sectorSize > 512) {
    w106 |= 0x1000;
    const lw = be.sectorSize / 2;
    w[117] = lw & 0xffff;
    w[118] = lw >>> 16;
  }
  w[106] = w106;
  if (be.canDelete) {
    w[69] = 1 << 14; // deterministic read zeroes after TRIM
    w[105] = 1;
    w[169] = 1;
  }
  w[217] = str.nmrr ?? 0;
  w[222] = 0x101f; // SATA transport, revisions 1-3
  return new Uint8Array(w.buffer);
}

export function identifyPacket(str: IdentifyStrings): Uint8Array {
  const w = new Uint16Array(256);
  w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5); // ATAPI, CD/DVD, removable, 50 us DRQ
  putString(w, 10, 10, str.serial);
  putString(w, 23, 4, str.revision);
  putString(w, 27, 20, str.model);
  w[49] = (1 << 8) | (1 << 9);
  w[53] = 0x0006;
  w[62] = 0x3f;
  w[63] = 0x0007;
  w[64] = 0x0003;
  w[65] = w[66] = w[67] = w[68] = 120;
  w[76] = 0x000e;
  w[80] = 0x003c;
  w[81] = 0;
  w[82] = (1 << 4) | (1 << 14); // PACKET, NOP
  w[83] = 0x4000;
  w[84] = 0x4000;
  w[85] = w[82];
  w[87] = 0x4000;
  w[88] = 0x007f;
  w[222] = 0x101f;
  return new Uint8Array(w.buffer);
}
