// Prompts: credentials on a terminal (echo off for secrets), and AutoSSL's "Continue ? (y/n)" from a terminal or a pipe.
import readline from 'node:readline';

export function prompt(question: string, secret = false): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    if (secret) {
      // Echo nothing while the secret is typed.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.includes(question)) process.stderr.write(s);
      };
    }
    rl.question(question, (answer) => {
      rl.close();
      if (secret) process.stderr.write('\n');
      resolve(answer);
    });
  });
}

/**
 * Asks each question in turn (on stderr) and reads one answer line per question from standard input, a terminal
 * or a pipe (`echo y | autossl renew`); `null` for every question left when the input ends.
 */
export async function askEach(questions: string[]): Promise<(string | null)[]> {
  if (!questions.length) return [];
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  const lines = rl[Symbol.asyncIterator]();
  const answers: (string | null)[] = [];
  try {
    for (const question of questions) {
      rl.setPrompt(question);
      rl.prompt();
      const next = await lines.next();
      if (next.done) break;
      answers.push(next.value);
      // A piped answer is not echoed: show it, as a terminal would.
      if (!process.stdin.isTTY) process.stderr.write(`${next.value}\n`);
    }
  } finally {
    rl.close();
  }
  if (answers.length < questions.length) process.stderr.write('\n');
  return questions.map((_, i) => answers[i] ?? null);
}
