/**
 * Reads libvirt's bhyve test cases as data (the reference folder's CASES.md and files):
 * which cases exist, with which capability changes and expected outcome, so the
 * conformance suite replays every case found there. Nothing is copied into the repository.
 *
 * Location: $TSVIRT_LIBVIRT_BHYVE_TESTS, else `../shared/reference/libvirt-bhyve-tests`
 * next to the repository (or one level further up, for worktrees), else
 * /work/shared/reference/libvirt-bhyve-tests. Absent → `findCasesDir()` returns undefined.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BhyveCap, LIBVIRT_TEST_CAPS } from '../../../src/driver/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');

export function findCasesDir(): string | undefined {
  const candidates = [
    process.env.TSVIRT_LIBVIRT_BHYVE_TESTS,
    join(repo, '../shared/reference/libvirt-bhyve-tests'),
    join(repo, '../../shared/reference/libvirt-bhyve-tests'),
    '/work/shared/reference/libvirt-bhyve-tests',
  ];
  return candidates.find((c): c is string => c !== undefined && existsSync(join(c, 'CASES.md')));
}

/** Host settings a case runs with (libvirt's test harness state at that point). */
export interface CaseHost {
  arch: 'x86_64' | 'aarch64';
  caps: Set<BhyveCap>;
  grubConsdev: boolean;
  firmwareFiles: string[];
  bhyveloadTimeout: number;
  bhyveloadTimeoutKill: number;
}

export interface ArgvCase {
  arch: 'x86_64' | 'aarch64';
  name: string;
  /** ok | fail | parse | prep */
  expect: 'ok' | 'fail' | 'parse' | 'prep';
  host: CaseHost;
  /** Row came from the "not in the available program" table (outcome implied by files). */
  implied: boolean;
}

export interface Argv2XmlCase {
  name: string;
  expect: 'ok' | 'warn' | 'failwarn';
}

export interface Xml2XmlCase {
  arch: 'x86_64' | 'aarch64';
  name: string;
}

function defaultHost(): CaseHost {
  return {
    arch: 'x86_64',
    caps: new Set(LIBVIRT_TEST_CAPS),
    grubConsdev: true,
    firmwareFiles: ['BHYVE_UEFI.fd'],
    bhyveloadTimeout: 0,
    bhyveloadTimeoutKill: 0,
  };
}

/** Applies one "changes so far" item of CASES.md. */
function applyChange(host: CaseHost, change: string): void {
  const c = change.trim();
  if (c === '' || c === 'defaults') return;
  if (c.startsWith('-')) {
    host.caps.delete(c.slice(1) as BhyveCap);
    return;
  }
  if (c === 'firmwareDir=fakefirmwareemptydir') {
    host.firmwareFiles = [];
    return;
  }
  if (c === 'grubcaps=0') {
    host.grubConsdev = false;
    return;
  }
  if (c === 'arch aarch64') {
    host.arch = 'aarch64';
    return;
  }
  const m = /^bhyveloadTimeout=(\d+),bhyveloadTimeoutKill=(\d+)$/.exec(c);
  if (m) {
    host.bhyveloadTimeout = Number(m[1]);
    host.bhyveloadTimeoutKill = Number(m[2]);
    return;
  }
  throw new Error(`CASES.md: unknown change '${c}'`);
}

function tableRows(md: string, header: string): string[][] {
  const start = md.indexOf(header);
  if (start < 0) throw new Error(`CASES.md: table '${header}' not found`);
  const rows: string[][] = [];
  for (const line of md.slice(start).split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.every((c) => /^-+$/.test(c))) continue;
    rows.push(cells);
  }
  return rows;
}

export interface CaseIndex {
  dir: string;
  xml2argv: ArgvCase[];
  argv2xml: Argv2XmlCase[];
  xml2xml: Xml2XmlCase[];
}

export function loadCases(dir: string): CaseIndex {
  const md = readFileSync(join(dir, 'CASES.md'), 'utf8');
  const xml2xml = tableRows(md, '| arch | case |\n|---|---|').map(([arch, name]) => ({ arch: arch as 'x86_64' | 'aarch64', name: name! }));
  const xml2argv: ArgvCase[] = [];
  for (const [arch, name, expect, changes] of tableRows(md, '| arch | case | expect | changes so far | files |')) {
    const host = defaultHost();
    for (const c of changes!.split(';')) applyChange(host, c);
    xml2argv.push({ arch: arch as ArgvCase['arch'], name: name!, expect: expect as ArgvCase['expect'], host, implied: false });
  }
  for (const [arch, name, implied, files] of tableRows(md, '| arch | case | implied | files |')) {
    // An input that only exists for bhyvexml2xmltest (which reads its inputs from the
    // xml2argv folder) is not an xml2argv case.
    if (files === 'xml' && xml2xml.some((x) => x.arch === arch && x.name === name)) continue;
    if (!files!.split(' ').includes('xml')) continue; // no input to replay
    const host = defaultHost();
    if (arch === 'aarch64') {
      host.arch = 'aarch64';
      host.caps.delete('RTC_UTC');
    }
    xml2argv.push({ arch: arch as ArgvCase['arch'], name: name!, expect: implied!.startsWith('ok') ? 'ok' : 'fail', host, implied: true });
  }
  const argv2xml = tableRows(md, '| case | expect | files |').map(([name, expect]) => ({ name: name!, expect: expect as Argv2XmlCase['expect'] }));
  return { dir, xml2argv, argv2xml, xml2xml };
}

/** Cases the data lists but gives no input for (reported as not replayable). */
export function missingInputs(md: string): string[] {
  return tableRows(md, '| arch | case | implied | files |')
    .filter(([, , , files]) => !files!.split(' ').includes('xml'))
    .map(([arch, name]) => `${arch}/${name}`);
}

export function readCaseFile(dir: string, ...parts: string[]): string | undefined {
  const p = join(dir, ...parts);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}
