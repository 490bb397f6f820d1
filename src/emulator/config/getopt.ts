/**
 * POSIX/BSD getopt(3) as bhyve's option loop sees it: options are scanned left to right
 * and stop at the first operand (no permutation) or at `--`; flags may be grouped (`-AHP`);
 * an option argument is the rest of the word (`-c2`) or the next word (`-c 2`, even if it
 * begins with `-`). Errors carry FreeBSD's wording ("illegal option -- z",
 * "option requires an argument -- c").
 *
 * A generator so that the caller acts on each option in order, exactly when bhyve would
 * (e.g. `-s help` exits before a later malformed option is even looked at).
 */

export type GetoptEvent =
  | { kind: 'option'; opt: string; arg?: string }
  | { kind: 'error'; message: string }
  | { kind: 'end'; operands: string[] };

export function* getopt(args: readonly string[], optstring: string): Generator<GetoptEvent, void, void> {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < optstring.length; i++) {
    const c = optstring[i]!;
    if (c === ':') continue;
    takesArg.set(c, optstring[i + 1] === ':');
  }
  let i = 0;
  while (i < args.length) {
    const word = args[i]!;
    if (word === '--') {
      i++;
      break;
    }
    if (word.length < 2 || word[0] !== '-') break;
    i++;
    for (let j = 1; j < word.length; j++) {
      const c = word[j]!;
      const needs = takesArg.get(c);
      if (needs === undefined) {
        yield { kind: 'error', message: `illegal option -- ${c}` };
        return;
      }
      if (!needs) {
        yield { kind: 'option', opt: c };
        continue;
      }
      if (j + 1 < word.length) {
        yield { kind: 'option', opt: c, arg: word.slice(j + 1) };
      } else if (i < args.length) {
        yield { kind: 'option', opt: c, arg: args[i]! };
        i++;
      } else {
        yield { kind: 'error', message: `option requires an argument -- ${c}` };
        return;
      }
      break;
    }
  }
  yield { kind: 'end', operands: args.slice(i) };
}
