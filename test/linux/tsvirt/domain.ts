/**
 * Renders fixtures/linux/domain.xml for a BootSpec: the domain XML the tsvirt boot
 * defines with tsvirsh. Values are XML-escaped; a placeholder left unreplaced (a new one
 * in the fixture) is an error rather than a domain with `@X@` in it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../assets/debian-package.js';
import { GUEST_MAC, type BootSpec } from '../guest/boot-config.js';

export const DOMAIN_TEMPLATE = join(REPO_ROOT, 'fixtures', 'linux', 'domain.xml');

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

export function renderDomainXml(spec: BootSpec, name: string, template = readFileSync(DOMAIN_TEMPLATE, 'utf8')): string {
  const values: Record<string, string> = {
    NAME: name,
    MEMORY_MIB: String(spec.memoryMiB),
    VCPUS: String(spec.vcpus),
    KERNEL: spec.kernel,
    INITRD: spec.initrd,
    CMDLINE: spec.cmdline,
    DISK: spec.disk,
    MAC: GUEST_MAC,
    PEER_PORT: String(spec.peerPort),
  };
  // Drop the leading comment, which documents the placeholders by name.
  const body = template.replace(/^<!--[\s\S]*?-->\s*/, '');
  const out = body.replace(/@([A-Z_]+)@/g, (m, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`${DOMAIN_TEMPLATE}: unknown placeholder ${m}`);
    return xmlEscape(v);
  });
  return out;
}
