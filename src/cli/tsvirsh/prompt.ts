/** Ask the user one question on the terminal and return the first valid answer. */

import { createInterface } from 'node:readline';

export function ask(question: string, choices: string[]): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) => {
    const q = () =>
      rl.question(`${question} `, (a) => {
        const x = a.trim().toLowerCase();
        if (choices.includes(x)) {
          rl.close();
          resolve(x);
        } else {
          process.stdout.write(`${choices.map((c) => `${c}`).join(', ')} or ? for help\n`);
          q();
        }
      });
    q();
  });
}
