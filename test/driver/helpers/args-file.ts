/**
 * Reads libvirt's `.args` / `.ldargs` test files (virCommandToString output with line
 * breaks: ` \` continuations, single-quoted arguments with spaces or shell characters)
 * back into an argv array.
 */
export function parseArgsText(text: string): string[] {
  const s = text.replace(/ \\\n/g, ' ').replace(/\n/g, ' ');
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && s[i] === ' ') i++;
    if (i >= s.length) break;
    let arg = '';
    while (i < s.length && s[i] !== ' ') {
      if (s[i] === "'") {
        const end = s.indexOf("'", i + 1);
        if (end < 0) throw new Error(`unterminated quote in ${JSON.stringify(text)}`);
        arg += s.slice(i + 1, end);
        i = end + 1;
      } else {
        arg += s[i];
        i++;
      }
    }
    out.push(arg);
  }
  return out;
}

/** argv[0] without its directory, as libvirt's test output prints programs. */
export function stripProgramDir(argv: string[]): string[] {
  if (argv.length === 0) return argv;
  const p = argv[0]!;
  return [p.slice(p.lastIndexOf('/') + 1), ...argv.slice(1)];
}
