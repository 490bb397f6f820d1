/**
 * What a successful Linux test boot is, whichever stack ran it: the result line all ok
 * with the expected CPU count, the disk answer matching the challenge, a clean
 * filesystem (the guest unmounted it), the host peer having received the guest's echo
 * requests with the pattern derived from the challenge, and the kernel's power-down
 * message. Returns the failures as text (empty when the boot was good) so the caller
 * can add the console diagnosis to one assertion message.
 */
import { checkFilesystem, readAnswer, type GuestDisk } from '../assets/disk.js';
import type { FramePeer } from '../net/frame-peer.js';
import { GUEST_IP } from './boot-config.js';
import type { ConsoleWatcher } from './console.js';
import { parseResultLine } from './console.js';

export function bootFailures(o: { console: ConsoleWatcher; vcpus: number; release: string; disk: GuestDisk; peer: FramePeer }): string[] {
  const f: string[] = [];
  const line = o.console.resultLine;
  const r = line === undefined ? undefined : parseResultLine(line);
  if (!line) f.push('no TSVIRT-RESULT line on the console');
  else if (!r) f.push(`unparseable result line: ${line}`);
  else {
    for (const k of ['modules', 'disk', 'net', 'rng'] as const) if (r[k] !== 'ok') f.push(`guest reports ${k}=${r[k]}`);
    if (r.cpus !== o.vcpus) f.push(`guest sees ${r.cpus} CPUs, expected ${o.vcpus}`);
  }
  if (o.console.at.powerDown === undefined) f.push("no 'reboot: Power down' from the kernel");
  const answer = readAnswer(o.disk.image);
  if (!answer) f.push('the guest wrote no tsvirt/answer to the disk');
  else {
    if (answer.sha256 !== o.disk.sha256) f.push(`disk answer sha256=${answer.sha256}, expected ${o.disk.sha256}`);
    if (answer.release !== o.release) f.push(`disk answer release=${answer.release}, expected ${o.release}`);
    if (answer.cpus !== o.vcpus) f.push(`disk answer cpus=${answer.cpus}, expected ${o.vcpus}`);
  }
  const fsck = checkFilesystem(o.disk.image);
  if (!fsck.clean) f.push(`e2fsck -fn finds the disk unclean:\n${fsck.output}`);
  const echoes = o.peer.stats.echoRequests.filter((e) => e.from === GUEST_IP);
  if (echoes.length === 0) f.push(`the host peer got no ICMP echo request from ${GUEST_IP} (stats ${JSON.stringify({ ...o.peer.stats, echoRequests: o.peer.stats.echoRequests.length })})`);
  // busybox ping stores a 4-byte timestamp at the start of the payload; the rest is the pattern.
  else if (!echoes.some((e) => e.payload.length >= 16 && e.payload.subarray(8).every((b) => b === o.disk.pattern))) {
    f.push(`no echo payload carries the pattern 0x${o.disk.pattern.toString(16)} derived from the disk challenge`);
  }
  return f;
}
