import { describe, expect, it } from 'vitest';
import {
  bhyveArgvToDomain,
  bhyveCommandLineToDomain,
  domainToBhyveArgv,
  parseMemsizeKiB,
  splitNativeCommandLine,
} from '../../src/driver/index.js';
import { isVirError } from '../../src/xml/errors.js';
import { formatDomainXML, parseDomainXML } from '../../src/xml/index.js';

const fixed = { generateUuid: () => '11111111-2222-3333-4444-555555555555', generateMac: () => '52:54:00:aa:bb:cc' };

describe('native command line text', () => {
  it('splits continuations, quotes and the loader line', () => {
    const c = splitNativeCommandLine("/usr/sbin/bhyveload -m 1G \\\n -d '/tmp/my disk.img' vm\n/usr/sbin/bhyve -c 2 \\\r\n -m 1G -o \"bios.vendor=A B\" vm\n");
    expect(c.loader).toEqual(['/usr/sbin/bhyveload', '-m', '1G', '-d', '/tmp/my disk.img', 'vm']);
    expect(c.bhyve).toEqual(['/usr/sbin/bhyve', '-c', '2', '-m', '1G', '-o', 'bios.vendor=A B', 'vm']);
  });
  it('accepts tsbhyve as the bhyve program and refuses text without one', () => {
    expect(splitNativeCommandLine('tsbhyve -m 64 vm').bhyve[0]).toBe('tsbhyve');
    expect(() => splitNativeCommandLine('qemu-system-x86_64 -m 64')).toThrow(/argv-lists/);
  });
  it('reads bhyve memory sizes like vm_parse_memsize', () => {
    expect(parseMemsizeKiB('214')).toBe(214 * 1024);
    expect(parseMemsizeKiB('214M')).toBe(214 * 1024);
    expect(parseMemsizeKiB('2G')).toBe(2 * 1024 * 1024);
    expect(parseMemsizeKiB('1048576')).toBe(1024);
    expect(parseMemsizeKiB('4096k')).toBe(4096);
    for (const bad of ['', 'bogus', '1.5G', '-1', '99999999999999999999G']) expect(parseMemsizeKiB(bad), bad).toBeUndefined();
  });
});

describe('bhyve argv → domain (tsvirt mode)', () => {
  it('reads the options libvirt ignores and round-trips through the translator', () => {
    const argv = [
      'tsbhyve', '-c', 'cpus=4,sockets=2,cores=2,threads=1', '-m', '1G', '-p', '0:2', '-p', '0:3', '-S', '-w', '-u', '-H', '-P',
      '-s', '0:0,hostbridge', '-l', 'bootrom,/fw/BHYVE_UEFI.fd,/nv/vm_VARS.fd,fwcfg=qemu', '-s', '1:0,lpc',
      '-s', '2:0,ahci,hd:/img/a.img,ser=SER1,cd:/iso/b.iso', '-s', '3:0,virtio-net,tap3,mac=52:54:00:01:02:03,mtu=1400',
      '-s', '4:0,virtio-9p,share=/srv,ro', '-s', '5:0,virtio-console,org.qemu.guest_agent.0=/run/vm.agent',
      '-s', '6:0,passthru,2/0/0', '-s', '7:0,xhci,tablet', '-s', '8:0,fbuf,tcp=0.0.0.0:5901,w=800,h=600,wait',
      '-l', 'com1,stdio', '-l', 'com2,tcp=127.0.0.1:4444', '-o', 'bios.vendor=Acme', '-o', 'vmm.backend=kvm', 'vm',
    ];
    const warnings: string[] = [];
    const def = bhyveArgvToDomain(argv, undefined, { ...fixed, warnings });
    expect(warnings).toEqual([]);
    expect(def.type).toBe('kvm');
    expect(def.vcpu.count).toBe(4);
    expect(def.cpu?.topology).toEqual({ sockets: 2, dies: 1, cores: 2, threads: 1 });
    expect(def.memoryBacking?.locked).toBe(true);
    expect(def.features?.msrs).toEqual({ unknown: 'ignore' });
    expect(def.os.loader?.path).toBe('/fw/BHYVE_UEFI.fd');
    expect(def.os.nvram?.path).toBe('/nv/vm_VARS.fd');
    expect(def.devices.disks.map((d) => [d.target.dev, d.device, d.serial])).toEqual([
      ['sda', 'disk', 'SER1'],
      ['sdb', 'cdrom', undefined],
    ]);
    expect(def.devices.interfaces[0]!.mtu).toEqual({ size: 1400 });
    expect(def.devices.channels[0]!.target.name).toBe('org.qemu.guest_agent.0');
    expect(def.devices.serials.map((s) => s.type)).toEqual(['stdio', 'tcp']);
    expect(def.sysinfo?.[0]?.bios).toEqual([{ name: 'vendor', value: 'Acme' }]);
    // The domain goes back through XML and the translator to the same devices.
    const xml = formatDomainXML(def, { secure: true });
    const reparsed = parseDomainXML(xml);
    const r = domainToBhyveArgv(reparsed, {
      tapName: (i) => i.target?.dev ?? 'tap0',
      vncPort: () => 5901,
      listDir: () => [],
      kernelProtocol: () => 'linux',
    });
    const back = r.bhyve.join(' ');
    for (const part of ['-p 0:2', '-p 0:3', '-w', '-S', 'virtio-net,tap3,mac=52:54:00:01:02:03,mtu=1400', 'virtio-9p,share=/srv,ro',
      'xhci,tablet', 'fbuf,tcp=0.0.0.0:5901,w=800,h=600,wait', '-l com1,stdio', '-l com2,tcp=127.0.0.1:4444', '-o bios.vendor=Acme',
      '-o vmm.backend=kvm', 'passthru,2/0/0', 'bootrom,/fw/BHYVE_UEFI.fd,/nv/vm_VARS.fd,fwcfg=qemu']) {
      expect(back).toContain(part);
    }
  });
  it('passes what it cannot represent through as <bhyve:arg>, with a warning', () => {
    const warnings: string[] = [];
    const def = bhyveArgvToDomain(['bhyve', '-m', '64', '-G', 'w127.0.0.1:1234', '-o', 'x86.verbosemsr=true', '-Y', '-s', '3,uart,/dev/ttyu0', 'vm'], undefined, { ...fixed, warnings });
    expect(def.bhyveCommandline?.args).toEqual(['-G', 'w127.0.0.1:1234', '-o', 'x86.verbosemsr=true', '-Y', '-s', '3,uart,/dev/ttyu0']);
    expect(warnings).toHaveLength(4);
  });
  it('reads direct kernel boot and NUMA options', () => {
    const def = bhyveArgvToDomain(['tsbhyve', '-c', '2', '-m', '512', '-n', 'id=0,size=256,cpus=0', '-n', 'id=1,size=256,cpus=1', '-f', 'kexec,/k/bzImage,/k/initrd,"console=ttyS0,115200"', 'vm'], undefined, fixed);
    expect(def.os).toMatchObject({ kernel: '/k/bzImage', initrd: '/k/initrd', cmdline: 'console=ttyS0,115200' });
    expect(def.cpu?.numa?.cells).toEqual([
      { id: 0, cpus: '0', memory: 256 * 1024 },
      { id: 1, cpus: '1', memory: 256 * 1024 },
    ]);
  });
  it('refuses mismatched names and sizes between loader and bhyve', () => {
    expect(() => bhyveCommandLineToDomain('/usr/sbin/bhyveload -m 256 -d /a.img vm1\n/usr/sbin/bhyve -m 256 vm2\n', fixed)).toThrow(/name mismatch/);
    expect(() => bhyveCommandLineToDomain('/usr/sbin/bhyveload -m 512 -d /a.img vm\n/usr/sbin/bhyve -m 256 vm\n', fixed)).toThrow(/size mismatch/);
  });
});

describe('hostile command lines', () => {
  it('never throws anything but a VirError', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const atoms = ['-c', '-m', '-s', '-l', '-U', '-p', '-o', '-n', '-f', '-S', '-w', 'vm', '1', '0:0,hostbridge', 'com1,/dev/nmdm0A',
      '2:0,virtio-net,tap0,mac=zz', 'bootrom', ',', ':', '=', "'", '"', '\\\n', '\n', ' ', '-', '1:2:3:4,ahci', 'tcp=:', 'x'.repeat(50)];
    for (let i = 0; i < 3000; i++) {
      let text = rnd(2) ? '/usr/sbin/bhyve ' : '';
      const n = rnd(20);
      for (let j = 0; j < n; j++) text += `${atoms[rnd(atoms.length)]}${rnd(3) ? ' ' : ''}`;
      for (const mode of ['libvirt', 'tsvirt'] as const) {
        try {
          bhyveCommandLineToDomain(text, { ...fixed, mode });
        } catch (e) {
          if (!isVirError(e)) throw new Error(`non-VirError for ${JSON.stringify(text)}: ${String(e)}`);
        }
      }
    }
    // A very long command line is handled in one pass (a hang would hit the test timeout).
    const huge = `/usr/sbin/bhyve ${'-S '.repeat(200_000)}vm`;
    expect(bhyveCommandLineToDomain(huge, fixed).memoryBacking?.locked).toBe(true);
  });
});
