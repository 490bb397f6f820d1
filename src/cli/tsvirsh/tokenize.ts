/**
 * Splitting a virsh command string ("list --all; dominfo 'my vm'") into commands and
 * words, with virsh's rules (vshCommandStringGetArg): words separated by blanks, `;` or a
 * newline ends a command, single quotes keep everything literally, double quotes allow
 * backslash escapes, a backslash outside quotes escapes the next character, `#` at the
 * start of a word starts a comment up to the end of the line.
 */

export class TokenizeError extends Error {}

export function splitCommands(input: string): string[][] {
  const cmds: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCmd = () => {
    endWord();
    if (words.length) cmds.push(words);
    words = [];
  };
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === ';' || c === '\n' || c === '\r') {
      endCmd();
      i++;
    } else if (c === '#' && !inWord) {
      while (i < input.length && input[i] !== '\n') i++;
    } else if (c === "'") {
      const j = input.indexOf("'", i + 1);
      if (j < 0) throw new TokenizeError('missing "\'"');
      word += input.slice(i + 1, j);
      inWord = true;
      i = j + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= input.length) throw new TokenizeError('missing "');
        const d = input[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < input.length) {
          word += input[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw new TokenizeError('dangling \\');
      word += input[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  endCmd();
  return cmds;
}
