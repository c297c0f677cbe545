/** Longest line read from stdin; a secret piped in by mistake (a whole file) stops here. */
const MAX_LINE_CHARS = 65_536;

/**
 * The first line of stdin (without its line break), for secrets that should
 * not be command-line arguments (visible in `ps` and shell history). On a
 * terminal, `prompt` is written to stderr first; the input is not hidden.
 *
 * @example
 * const password = await readStdinLine('Password: ');
 */
export async function readStdinLine(prompt?: string): Promise<string> {
  if (prompt !== undefined && process.stdin.isTTY) process.stderr.write(prompt);
  process.stdin.setEncoding('utf8');
  let text = '';
  for await (const chunk of process.stdin as AsyncIterable<string>) {
    text += chunk;
    if (text.includes('\n') || text.length > MAX_LINE_CHARS) break;
  }
  // Leaving the loop early leaves stdin paused; destroy it so it does not keep the process alive.
  process.stdin.destroy();
  const newline = text.indexOf('\n');
  const line = newline === -1 ? text : text.slice(0, newline);
  return line.replace(/\r$/, '').slice(0, MAX_LINE_CHARS);
}
