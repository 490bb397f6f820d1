/**
 * Where the driver finds its DomainDef ⇄ bhyve translation (issue 4's `tsvirt/driver`:
 * domainToBhyveConfig, domainToBhyveArgv, bhyveArgvToDomain). The translation lives in its
 * own modules of src/driver; this file adapts it to the lifecycle code's `Translator`.
 *
 * This build does not contain the translation yet: `loadTranslator` returns undefined and
 * the driver refuses to start domains (and domxml-to/from-native) with VIR_ERR_NO_SUPPORT
 * saying so. Everything that needs no translation (define, list, dumpxml, autostart,
 * undefine, state queries) works.
 */

import type { Translator } from './driver.js';

export async function loadTranslator(): Promise<Translator | undefined> {
  return undefined;
}
