/**
 * The lifecycle code's view of the DomainDef ⇄ bhyve translation (issue 4's `tsvirt/driver`,
 * index.ts): a `Translator` built from prepareLiveDomain/buildPlan (the `-k` config file
 * and the live definition), domainToBhyveArgv (domxml-to-native), bhyveCommandLineToDomain
 * (domxml-from-native) and the bhyve parser hooks.
 *
 * What the lifecycle adds on top of the translation, and why:
 * - a domain that would need a host boot loader (bhyveload, grub-bhyve) is refused at
 *   start: tsbhyve loads kernels itself (`<os><kernel>`) or runs UEFI firmware
 *   (`<os><loader>`), and there is no bhyveload on Linux;
 * - NVRAM files live under the state root (`ROOT/nvram`), not in a system directory;
 * - tap devices get host-unique names chosen by the networking glue (net.ts).
 */

import { join } from 'node:path';
import { configUnsupported, VIR_FROM_BHYVE } from '../xml/errors.js';
import type { DomainDef } from '../xml/types.js';
import {
  bhyveCommandLineToDomain,
  buildLoaderCommand,
  buildPlan,
  createBhyveParserConfig,
  domainToBhyveArgv,
  formatConfigFile,
  planToConfigKeys,
  prepareLiveDomain,
  type TranslateOptions,
} from './index.js';
import type { Translator } from './driver.js';
import { tapNamer } from './net.js';

export interface TranslatorOptions {
  /** State root: NVRAM files go to ROOT/nvram. */
  root: string;
}

/** virCommandToString's quoting: arguments with shell metacharacters in single quotes. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function bhyveTranslator(opts: TranslatorOptions): Translator {
  const host: TranslateOptions = { nvramDir: join(opts.root, 'nvram') };
  return {
    parserConfig: createBhyveParserConfig(host),
    toConfig(def: DomainDef) {
      const tOpts: TranslateOptions = { ...host, tapName: tapNamer() };
      const live = prepareLiveDomain(def, tOpts);
      const loader = buildLoaderCommand(live.def, live.host, join(opts.root, 'run', `${def.name}.device.map`));
      if (loader) {
        throw configUnsupported(
          `domain '${def.name}' would boot through the host boot loader '${loader.argv[0]}', which tsvirt does not run: give it <os><kernel> (direct boot) or a UEFI <os><loader>`,
          VIR_FROM_BHYVE,
        );
      }
      const plan = buildPlan(live.def, live.host, tOpts, live.warnings);
      const keys = planToConfigKeys(plan);
      return {
        config: formatConfigFile(keys, `bhyve configuration of domain '${def.name}' (tsvirt)`),
        liveDef: live.def,
        warnings: plan.warnings,
        interfaces: plan.interfaces,
        env: plan.env,
      };
    },
    toNative(def: DomainDef) {
      const r = domainToBhyveArgv(def, host);
      const lines = [];
      if (r.loader) lines.push(r.loader.map(shellWord).join(' '));
      lines.push(r.bhyve.map(shellWord).join(' '));
      return `${lines.join('\n')}\n`;
    },
    fromNative(text: string) {
      return bhyveCommandLineToDomain(text);
    },
  };
}

/** The translator embedded connections use (tsvirsh `bhyve:///embed`, tsvirtd). */
export async function loadTranslator(root: string): Promise<Translator> {
  return bhyveTranslator({ root });
}
