/**
 * An independent reading of a bhyve argv into bhyve_config(5) keys, following the rules of
 * bhyve-userland.md §1–2 (option table, `-s` slot syntax and legacy option parsers, `-l`
 * devices, `-o`), written separately from the driver so that the driver's `-k` output can
 * be checked against "what bhyve would build from the driver's argv". Covers the options
 * and emulations the driver emits, plus tsbhyve's `-f kexec|multiboot`.
 */
export function argvToConfigKeys(argv: string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const set = (k: string, v: string): void => {
    keys.delete(k);
    keys.set(k, v);
  };
  const generic = (node: string, conf: string): void => {
    for (const item of conf.split(',')) {
      const eq = item.indexOf('=');
      if (eq >= 0) set(`${node}.${item.slice(0, eq)}`, item.slice(eq + 1));
      else set(`${node}.${item}`, 'true');
    }
  };
  const block = (node: string, conf: string): void => {
    const c = conf.indexOf(',');
    set(`${node}.path`, c < 0 ? conf : conf.slice(0, c));
    if (c >= 0) generic(node, conf.slice(c + 1));
  };
  let i = 1;
  for (; i < argv.length - 1; i++) {
    const a = argv[i]!;
    const v = (): string => argv[++i]!;
    switch (a) {
      case '-c': {
        const s = v();
        if (/^\d+$/.test(s)) set('cpus', s);
        else for (const kv of s.split(',')) set(kv.split('=')[0]!, kv.split('=')[1]!);
        break;
      }
      case '-m':
        set('memory.size', v());
        break;
      case '-S':
        set('memory.wired', 'true');
        break;
      case '-w':
        set('x86.strictmsr', 'false');
        break;
      case '-u':
        set('rtc.use_localtime', 'false');
        break;
      case '-H':
        set('x86.vmexit_on_hlt', 'true');
        break;
      case '-P':
        set('x86.vmexit_on_pause', 'true');
        break;
      case '-x':
        set('x86.x2apic', 'true');
        break;
      case '-U':
        set('uuid', v());
        break;
      case '-o': {
        const s = v();
        set(s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1));
        break;
      }
      case '-p': {
        const [vcpu, cpu] = v().split(':');
        const k = `vcpu.${vcpu}.cpuset`;
        set(k, keys.has(k) ? `${keys.get(k)},${cpu}` : cpu!);
        break;
      }
      case '-n': {
        const o = Object.fromEntries(v().split(/,(?=[a-z_]+=)/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
        set(`domains.${o.id}.size`, o.size!);
        set(`domains.${o.id}.cpus`, o.cpus!);
        break;
      }
      case '-f': {
        const s = v();
        const parts: string[] = [];
        let rest = s;
        for (let k = 0; k < 3 && rest.includes(','); k++) {
          parts.push(rest.slice(0, rest.indexOf(',')));
          rest = rest.slice(rest.indexOf(',') + 1);
        }
        parts.push(rest);
        const [kind, kernel, second, cmdline] = parts;
        set('boot.protocol', kind === 'kexec' ? 'linux' : 'multiboot');
        set('boot.kernel', kernel!);
        if (second) set(kind === 'kexec' ? 'boot.initrd' : 'boot.module.0.path', second);
        if (cmdline) set('boot.cmdline', cmdline.replace(/^"(.*)"$/, '$1'));
        break;
      }
      case '-l': {
        const s = v();
        const [dev, ...rest] = s.split(',');
        if (/^com[1-4]$/.test(dev!)) set(`lpc.${dev}.path`, rest.join(','));
        else if (dev === 'bootrom') {
          // [new] bhyve copies lpc.bootrom/bootvars to the top-level keys.
          set('bootrom', rest[0]!);
          const more = rest.slice(1);
          if (more[0] !== undefined && !more[0].includes('=')) set('bootvars', more.shift()!);
          if (more.length) generic('lpc', more.join(','));
        } else if (dev === 'tpm') {
          set('tpm.type', rest[0]!);
          set('tpm.path', rest[1]!);
          set('tpm.version', '2.0');
        } else throw new Error(`unexpected -l ${s}`);
        break;
      }
      case '-s': {
        const s = v();
        const c1 = s.indexOf(',');
        const slot = s.slice(0, c1).split(':').map(Number);
        const [b, sl, f] = slot.length === 3 ? slot : [0, slot[0]!, slot[1] ?? 0];
        const node = `pci.${b}.${sl}.${f}`;
        const rest = s.slice(c1 + 1);
        const c2 = rest.indexOf(',');
        const emu = c2 < 0 ? rest : rest.slice(0, c2);
        const conf = c2 < 0 ? undefined : rest.slice(c2 + 1);
        switch (emu) {
          case 'ahci-hd':
          case 'ahci-cd':
            set(`${node}.device`, 'ahci');
            set(`${node}.port.0.type`, emu.slice(5));
            block(`${node}.port.0`, conf!);
            break;
          case 'ahci': {
            set(`${node}.device`, 'ahci');
            const ports = conf ? conf.split(/,(?=(?:hd|cd):)/) : [];
            ports.forEach((p, n) => {
              set(`${node}.port.${n}.type`, p.slice(0, 2));
              block(`${node}.port.${n}`, p.slice(3));
            });
            break;
          }
          case 'virtio-blk':
          case 'nvme':
            set(`${node}.device`, emu);
            block(node, conf!);
            break;
          case 'virtio-net':
          case 'e1000': {
            set(`${node}.device`, emu);
            const c = conf!.indexOf(',');
            set(`${node}.backend`, c < 0 ? conf! : conf!.slice(0, c));
            if (c >= 0) generic(node, conf!.slice(c + 1));
            break;
          }
          case 'virtio-console':
            set(`${node}.device`, emu);
            (conf ? conf.split(',') : []).forEach((p, n) => {
              set(`${node}.port.${n}.name`, p.slice(0, p.indexOf('=')));
              set(`${node}.port.${n}.path`, p.slice(p.indexOf('=') + 1));
            });
            break;
          case 'virtio-9p': {
            set(`${node}.device`, emu);
            for (const item of conf!.split(',')) {
              const eq = item.indexOf('=');
              if (eq >= 0) {
                set(`${node}.sharename`, item.slice(0, eq));
                set(`${node}.path`, item.slice(eq + 1));
              } else set(`${node}.${item}`, 'true');
            }
            break;
          }
          case 'virtio-scsi': {
            set(`${node}.device`, emu);
            if (conf) {
              const c = conf.indexOf(',');
              set(`${node}.dev`, c < 0 ? conf : conf.slice(0, c));
              if (c >= 0) generic(node, conf.slice(c + 1));
            }
            break;
          }
          case 'xhci':
            set(`${node}.device`, emu);
            conf!.split(',').forEach((d, n) => set(`${node}.slot.${n + 1}.device`, d));
            break;
          case 'passthru': {
            set(`${node}.device`, emu);
            const c = conf!.indexOf(',');
            const [pb, ps, pf] = (c < 0 ? conf! : conf!.slice(0, c)).split('/');
            set(`${node}.bus`, pb!);
            set(`${node}.slot`, ps!);
            set(`${node}.func`, pf!);
            if (c >= 0) generic(node, conf!.slice(c + 1));
            break;
          }
          default:
            set(`${node}.device`, emu);
            if (conf) generic(node, conf);
        }
        break;
      }
      default:
        throw new Error(`unexpected argument ${a}`);
    }
  }
  set('name', argv[argv.length - 1]!);
  return keys;
}

/** `key=value` lines of a `-k` file (comments and blank lines skipped). */
export function parseConfigText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}
