/**
 * Entry point of a VM supervisor process, `tsvirt-supervisor --root DIR --name NAME --run
 * RUNID [--adopt]`: the program is src/driver/supervisor-main.ts (arguments, readiness
 * report, exit). It lives here, with the other programs, so that it is bundled into
 * `dist/cli/` like them (scripts/bundle.mjs) and the driver finds it at the same path
 * bundled or not (`../cli/tsvirt-supervisor.js` from dist/driver/ and from dist/cli/).
 *
 * Not a user command: tsvirsh and tsvirtd start it.
 */
import '../driver/supervisor-main.js';
