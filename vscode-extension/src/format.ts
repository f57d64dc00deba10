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

// The settings the extension keeps to itself; every other rungo.* setting of package.json is the server's.
export const CLIENT_ONLY = ['python'];

// The server's settings: the rungo.* keys package.json contributes. Their defaults live in package.json
// (VS Code applies them) and are checked against the server's schema by tests/unit/test_defaults_agree.py.
export function serverKeys(manifest: any = require('../../package.json')): string[] {
  return Object.keys(manifest.contributes.configuration.properties)
    .map((k) => k.replace(/^rungo\./, ''))
    .filter((k) => !CLIENT_ONLY.includes(k));
}

type Getter = (key: string) => unknown;

// gopls serves Go files when the Go extension is there and its go.useLanguageServer is not false (its default is true).
export function goplsServesWith(goExtension: boolean, useLanguageServer: unknown): boolean {
  return goExtension && useLanguageServer !== false;
}

// The server's settings (camelCase, nested as on the wire) from the `rungo.*` configuration.
export function serverSettings(get: Getter, keys: string[] = serverKeys()): Record<string, unknown> {
  const out: Record<string, any> = {};
  for (const key of keys) {
    const value = get(key);
    if (value === undefined) {
      continue;
    }
    const parts = key.split('.');
    let at = out;
    for (const p of parts.slice(0, -1)) {
      at = at[p] ??= {};
    }
    at[parts[parts.length - 1]] = value;
  }
  return out;
}

// A saved way to run one program (the server's RunConfiguration, as on the wire).
export interface RunConfiguration {
  name: string;
  package: string; // directory or file-scoped main's .go file, relative to the workspace folder ("." is the folder)
  args?: string[];
  env?: Record<string, string>;
  cwd?: string; // relative to the package's directory; empty: the package's directory
  buildFlags?: string[];
}

// How configurations name a target: relative to the workspace folder, POSIX separators; absolute outside it.
export function targetKey(folder: string | undefined, target: string): string {
  if (!folder) {
    return target;
  }
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/\/+$/, '');
  const f = norm(folder);
  const t = norm(target);
  if (t === f) {
    return '.';
  }
  return t.startsWith(f + '/') ? t.slice(f.length + 1) : target;
}

export function configurationsOf(all: RunConfiguration[], key: string): RunConfiguration[] {
  const norm = (k: string) => k.replace(/^\.\//, '').replace(/\/+$/, '') || '.';
  return all.filter((c) => norm(c.package) === norm(key));
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

// The configurations with one replaced (by its old name) or added.
export function withConfiguration(all: RunConfiguration[], c: RunConfiguration, oldName?: string): RunConfiguration[] {
  const same = (x: RunConfiguration, name: string) => x.package === c.package && x.name === name;
  const i = all.findIndex((x) => same(x, oldName ?? c.name));
  if (i < 0) {
    return [...all, c];
  }
  return all.map((x, j) => (j === i ? c : x));
}
