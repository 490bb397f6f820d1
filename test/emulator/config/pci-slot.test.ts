import { describe, expect, it } from 'vitest';
import { ConfigTree } from '../../../src/emulator/config/tree.js';
import { parsePciSlot } from '../../../src/emulator/config/pci-slot.js';
import { ConfigError } from '../../../src/emulator/config/errors.js';

function slots(...opts: string[]): string {
  const t = new ConfigTree();
  for (const o of opts) parsePciSlot(t, o);
  return t.dump();
}

function err(opt: string, pre: string[] = []): ConfigError {
  const t = new ConfigTree();
  for (const o of pre) parsePciSlot(t, o);
  try {
    parsePciSlot(t, opt);
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('no error');
}

describe('-s slot syntax', () => {
  it('reads slot, slot:func and bus:slot:func', () => {
    expect(slots('3,virtio-rnd')).toBe('pci.0.3.0.device=virtio-rnd\n');
    expect(slots('3:2,virtio-rnd')).toBe('pci.0.3.2.device=virtio-rnd\n');
    expect(slots('1:3:2,virtio-rnd')).toBe('pci.1.3.2.device=virtio-rnd\n');
  });

  it('refuses bad fields, unknown models and occupied slots with exit 4 and bhyve wording', () => {
    for (const o of ['3', '32,lpc', '0:8,lpc', '256:0:0,lpc', 'x,lpc', '-1,lpc']) {
      const e = err(o);
      expect(e.exitStatus).toBe(4);
      expect(e.prefixed).toBe(false);
      expect(e.message).toBe(`Invalid PCI slot info field "${o}"`);
    }
    expect(err('4,floppy').message).toBe('pci slot 0:4:0: unknown device "floppy"');
    expect(err('4,lpc', ['4:0,hostbridge']).message).toBe('pci slot 0:4:0 already occupied!');
  });

  it('applies aliases and their legacy parsers', () => {
    expect(slots('0,amd_hostbridge')).toBe('pci.0.0.0.device=hostbridge\npci.0.0.0.pcireg.vendor=0x1022\npci.0.0.0.pcireg.device=0x7432\n');
    expect(slots('2,ahci-cd,/iso,ro')).toBe('pci.0.2.0.device=ahci\npci.0.2.0.port.0.type=cd\npci.0.2.0.port.0.path=/iso\npci.0.2.0.port.0.ro=true\n');
  });

  it('parses multi-port ahci strings with per-port block options', () => {
    expect(slots('2,ahci,hd:/a.img,nocache,sectorsize=4096/8192,cd:/b.iso,hd:/c,ser=XYZ')).toBe(
      'pci.0.2.0.device=ahci\n' +
        'pci.0.2.0.port.0.type=hd\npci.0.2.0.port.0.path=/a.img\npci.0.2.0.port.0.nocache=true\npci.0.2.0.port.0.sectorsize=4096/8192\n' +
        'pci.0.2.0.port.1.type=cd\npci.0.2.0.port.1.path=/b.iso\n' +
        'pci.0.2.0.port.2.type=hd\npci.0.2.0.port.2.path=/c\npci.0.2.0.port.2.ser=XYZ\n',
    );
    expect(err('2,ahci,/no/type').message).toBe('Missing or invalid type for port 0: "/no/type"');
  });

  it('parses virtio-blk, virtio-net and e1000 option strings', () => {
    expect(slots('4,virtio-blk,/d.img,ro,direct,ser=SN1,bootindex=1')).toBe(
      'pci.0.4.0.device=virtio-blk\npci.0.4.0.path=/d.img\npci.0.4.0.ro=true\npci.0.4.0.direct=true\npci.0.4.0.ser=SN1\npci.0.4.0.bootindex=1\n',
    );
    expect(slots('5,virtio-net,tap0,mac=52:54:00:b9:94:02,mtu=9000')).toBe(
      'pci.0.5.0.device=virtio-net\npci.0.5.0.backend=tap0\npci.0.5.0.mac=52:54:00:b9:94:02\npci.0.5.0.mtu=9000\n',
    );
    expect(slots('6,e1000,tap1')).toBe('pci.0.6.0.device=e1000\npci.0.6.0.backend=tap1\n');
  });

  it('parses virtio-console ports, nvme, 9p, xhci, passthru and fbuf', () => {
    expect(slots('2,virtio-console,org.qemu.guest_agent.0=/run/a.sock,c2=/run/b.sock')).toBe(
      'pci.0.2.0.device=virtio-console\npci.0.2.0.port.0.name=org.qemu.guest_agent.0\npci.0.2.0.port.0.path=/run/a.sock\n' +
        'pci.0.2.0.port.1.name=c2\npci.0.2.0.port.1.path=/run/b.sock\n',
    );
    expect(err('2,virtio-console,noeq').message).toBe('vtcon: port noeq requires a path');
    const many = Array.from({ length: 17 }, (_, i) => `p${i}=/s${i}`).join(',');
    expect(err(`2,virtio-console,${many}`).message).toBe('vtcon: too many ports');
    expect(slots('3,nvme,ram=1024,maxq=2')).toBe('pci.0.3.0.device=nvme\npci.0.3.0.ram=1024\npci.0.3.0.maxq=2\n');
    expect(slots('3,nvme,/tmp/x.img,qsz=256')).toBe('pci.0.3.0.device=nvme\npci.0.3.0.path=/tmp/x.img\npci.0.3.0.qsz=256\n');
    expect(slots('4,virtio-9p,share=/srv,ro')).toBe('pci.0.4.0.device=virtio-9p\npci.0.4.0.sharename=share\npci.0.4.0.path=/srv\npci.0.4.0.ro=true\n');
    expect(slots('5,xhci,tablet')).toBe('pci.0.5.0.device=xhci\npci.0.5.0.slot.1.device=tablet\n');
    expect(slots('6,passthru,2/0/1')).toBe('pci.0.6.0.device=passthru\npci.0.6.0.bus=2\npci.0.6.0.slot=0\npci.0.6.0.func=1\n');
    expect(slots('7,fbuf,tcp=0.0.0.0:5900,w=800,h=600,wait')).toBe(
      'pci.0.7.0.device=fbuf\npci.0.7.0.tcp=0.0.0.0:5900\npci.0.7.0.w=800\npci.0.7.0.h=600\npci.0.7.0.wait=true\n',
    );
  });
});
