// Pure helpers shared by the extension and its unit tests: results, arguments, links.

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

export interface ServerSettings {
  goPath: string;
  buildFlags: string[];
  env: Record<string, string>;
  args: Record<string, string[]>;
  diagnostics: { enabled: boolean; delayMs: number; explainExcluded: boolean };
}

type Getter = <T>(key: string, fallback: T) => T;

// The server's settings (camelCase, as on the wire) from the `rungo.*` configuration.
export function serverSettings(get: Getter): ServerSettings {
  return {
    goPath: get('goPath', ''),
    buildFlags: get<string[]>('buildFlags', []),
    env: get<Record<string, string>>('env', {}),
    args: get<Record<string, string[]>>('args', {}),
    diagnostics: {
      enabled: get('diagnostics.enabled', true),
      delayMs: get('diagnostics.delayMs', 100),
      explainExcluded: get('diagnostics.explainExcluded', false),
    },
  };
}
