#!/usr/bin/env node
/**
 * Entry point of `tsvirsh`. The command is assembled by its own issue; until it lands this
 * entry point says so and exits with a failure status rather than pretending to work.
 */
process.stderr.write('tsvirsh: not yet available in this build of tsvirt\n');
process.exitCode = 1;
