/**
 * kvm-unit-tests' `x86/unittests.cfg` as data: one entry per `[name]` section with the keys
 * its harness reads (scripts/common.bash for_each_unittest): file, smp, test_args,
 * qemu_params (or the older extra_params, also in the `"""` multi-line form), groups, arch,
 * machine, check, accel, timeout, disabled_if. Lines that match no key are ignored, as the
 * harness ignores them. Values are kept verbatim (quotes included); splitting test_args into
 * words is words() below.
 *
 * Does not run anything and does not decide PASS/SKIP: see plan.ts.
 */

export interface KutTest {
  name: string;
  /** Image file name relative to the x86/ directory ("apic.flat"). */
  file: string;
  smp: number;
  /** test_args verbatim (shell words, possibly quoted), '' when absent. */
  testArgs: string;
  /** qemu_params verbatim, '' when absent. */
  qemuParams: string;
  groups: string[];
  arch: string;
  machine: string;
  check: string;
  accel: string;
  /** timeout verbatim ("90s", "30"), '' for the harness default. */
  timeout: string;
  disabledIf: string;
}

export class CfgError extends Error {}

function blank(name: string): KutTest {
  return { name, file: '', smp: 1, testArgs: '', qemuParams: '', groups: [], arch: '', machine: '', check: '', accel: '', timeout: '', disabledIf: '' };
}

/** Parses the cfg text; throws CfgError naming the line for a malformed smp value or an unterminated `"""`. */
export function parseUnittestsCfg(text: string): KutTest[] {
  const out: KutTest[] = [];
  const lines = text.split('\n');
  let cur: KutTest | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      if (cur) out.push(cur);
      cur = blank(section[1]!);
      continue;
    }
    if (!cur) continue;
    const kv = /^([a-z_]+) *= *(.*)$/.exec(line);
    if (!kv) continue;
    const key = kv[1]!;
    let value = kv[2]!;
    if ((key === 'qemu_params' || key === 'extra_params') && value.startsWith('"""')) {
      const parts = [value.slice(3)];
      let closed = false;
      while (++i < lines.length) {
        const l = lines[i]!;
        const end = /^(.*)"""\s*$/.exec(l);
        if (end) {
          parts.push(end[1]!);
          closed = true;
          break;
        }
        parts.push(l);
      }
      if (!closed) throw new CfgError(`[${cur.name}]: unterminated """ in ${key}`);
      value = parts
        .join('\n')
        .replace(/\\\n/g, '')
        .replace(/\n/g, ' ')
        .trim();
    }
    switch (key) {
      case 'file':
        cur.file = value;
        break;
      case 'smp': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 1024) throw new CfgError(`[${cur.name}]: bad smp value '${value}' (line ${i + 1})`);
        cur.smp = n;
        break;
      }
      case 'test_args':
        cur.testArgs = value;
        break;
      case 'qemu_params':
      case 'extra_params':
        cur.qemuParams = value;
        break;
      case 'groups':
        cur.groups = value.split(/\s+/).filter(Boolean);
        break;
      case 'arch':
        cur.arch = value;
        break;
      case 'machine':
        cur.machine = value;
        break;
      case 'check':
        cur.check = value;
        break;
      case 'accel':
        cur.accel = value;
        break;
      case 'timeout':
        cur.timeout = value;
        break;
      case 'disabled_if':
        cur.disabledIf = value;
        break;
      default:
        break;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * Splits a cfg value into words as the harness's `eval` would for the forms the cfg uses:
 * blanks separate words, '…' and "…" quote, backslash escapes, and `date +%s` in backquotes
 * becomes the current Unix time (`now`). Any other command substitution or `$` expansion is
 * refused with a CfgError rather than run.
 */
export function words(s: string, now: () => number = () => Math.floor(Date.now() / 1000)): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) throw new CfgError(`unterminated ' in: ${s}`);
      cur += s.slice(i + 1, j);
      has = true;
      i = j;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      let inner = '';
      while (j < s.length && s[j] !== c) {
        if (s[j] === '\\' && j + 1 < s.length) j++;
        else if (c === '"' && (s[j] === '`' || s[j] === '$')) {
          const k = s.indexOf(s[j]!, j + 1);
          const sub = s[j] === '`' && k > j ? s.slice(j + 1, k) : undefined;
          if (sub === undefined || sub.trim() !== 'date +%s') throw new CfgError(`unsupported expansion in: ${s}`);
          inner += String(now());
          j = k + 1;
          continue;
        }
        inner += s[j];
        j++;
      }
      if (j >= s.length) throw new CfgError(`unterminated ${c} in: ${s}`);
      if (c === '`') {
        if (inner.trim() !== 'date +%s') throw new CfgError(`unsupported command substitution \`${inner}\``);
        cur += String(now());
      } else cur += inner;
      has = true;
      i = j;
    } else if (c === '$') {
      throw new CfgError(`unsupported expansion in: ${s}`);
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}
