// Pure text helpers shared by the extension and its unit tests: results, arguments, environments, links.
import type { RunConfiguration } from './settings';

export interface RunExit {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  stage: string;
}

export function describeExit(e: RunExit): string {
  if (e.stage !== 'run') {
    return `${e.stage} failed`;
  }
  if (e.signal) {
    return `${e.signal} · ${e.durationMs} ms`;
  }
  return `exit ${e.exitCode} · ${e.durationMs} ms`;
}

export function closingLine(e: RunExit): string {
  const color = e.stage === 'run' && e.exitCode === 0 ? '32' : '31';
  return `\r\n\x1b[${color}m[${describeExit(e)}]\x1b[0m\r\n`;
}

// Splits a command-line string like a POSIX shell does for words and quotes (no expansions).
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) {
        quote = null;
      } else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) {
        cur += text[++i];
      } else {
        cur += c;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) {
        out.push(cur);
        cur = '';
        inWord = false;
      }
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) {
    throw new Error(`unterminated ${quote} quote`);
  }
  if (inWord) {
    out.push(cur);
  }
  return out;
}

export function joinArgs(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export interface FileLink {
  start: number;
  length: number;
  path: string;
  line: number;
  column: number;
}

// `path.go:12:5` (or `path.go:12`) inside a terminal line, as the compiler and panics print them.
export function findFileLinks(line: string): FileLink[] {
  const re = /((?:[A-Za-z]:)?[^\s:"'()]*\.(?:go|s|c|h|mod|work|txt|json|yaml|yml)):(\d+)(?::(\d+))?/g;
  const out: FileLink[] = [];
  for (let m = re.exec(line); m; m = re.exec(line)) {
    out.push({ start: m.index, length: m[0].length, path: m[1], line: Number(m[2]), column: m[3] ? Number(m[3]) : 1 });
  }
  return out;
}

// `KEY=value` words (shell-quoted) into an environment; a word without `=` is an error.
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of splitArgs(text)) {
    const eq = word.indexOf('=');
    if (eq <= 0) {
      throw new Error(`${JSON.stringify(word)} is not KEY=value`);
    }
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return env;
}

export function formatEnv(env: Record<string, string> | undefined): string {
  return joinArgs(Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`));
}

// One line about a configuration for the quick pick: its arguments, environment, directory and flags.
export function describeConfiguration(c: RunConfiguration): string {
  const parts: string[] = [];
  if (c.args?.length) parts.push(joinArgs(c.args));
  if (c.env && Object.keys(c.env).length) parts.push(formatEnv(c.env));
  if (c.cwd) parts.push(`in ${c.cwd}`);
  if (c.buildFlags?.length) parts.push(`flags ${joinArgs(c.buildFlags)}`);
  return parts.join(' · ') || 'no arguments';
}
