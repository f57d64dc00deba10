// The rungo.* settings: which are the server's and their shape on the wire, the run configurations
// stored in them, and reading, saving and watching them. The pure parts run in node's unit tests,
// so VS Code's API is loaded on first use.
import type * as vscodeApi from 'vscode';

function vscode(): typeof vscodeApi {
  return require('vscode');
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

// -- reading and watching ---------------------------------------------------------------------

function rungoSettings(resource?: vscodeApi.Uri): vscodeApi.WorkspaceConfiguration {
  return vscode().workspace.getConfiguration('rungo', resource);
}

// What the server gets at start: its settings, what this client supports, and what it may do.
export function initializationOptions(trusted: boolean): Record<string, unknown> {
  const cfg = rungoSettings();
  return { ...serverSettings((k) => cfg.get(k)), rungoOutput: true, allowRuns: trusted, goplsActive: goplsServes() };
}

// Whether the official Go extension is installed and enabled here with its language server (gopls) on.
export function goplsServes(): boolean {
  const v = vscode();
  return goplsServesWith(v.extensions.getExtension('golang.go') !== undefined,
    v.workspace.getConfiguration('go').get('useLanguageServer'));
}

// rungo.python: the interpreter the user chose ("" when none).
export function pythonSetting(resource: vscodeApi.Uri | undefined): string {
  return rungoSettings(resource).get<string>('python', '');
}

// rungo.goPath: the go binary the user chose ("" when none).
export function goPathSetting(resource: vscodeApi.Uri | undefined): string {
  return rungoSettings(resource).get<string>('goPath', '');
}

// Calls `restart` when a setting that decides how the server starts (rungo.python, rungo.goPath) changes.
export function onStartSettingsChange(restart: () => void): vscodeApi.Disposable {
  return vscode().workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('rungo.python') || e.affectsConfiguration('rungo.goPath')) {
      restart();
    }
  });
}

// -- run configurations -----------------------------------------------------------------------

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

// The configurations with one replaced (by its old name) or added.
export function withConfiguration(all: RunConfiguration[], c: RunConfiguration, oldName?: string): RunConfiguration[] {
  const same = (x: RunConfiguration, name: string) => x.package === c.package && x.name === name;
  const i = all.findIndex((x) => same(x, oldName ?? c.name));
  if (i < 0) {
    return [...all, c];
  }
  return all.map((x, j) => (j === i ? c : x));
}

// rungo.configurations: every saved configuration of the resource's workspace.
export function savedConfigurations(resource: vscodeApi.Uri): RunConfiguration[] {
  return rungoSettings(resource).get<RunConfiguration[]>('configurations') ?? [];
}

// rungo.lastConfiguration: the name of the configuration last run, by target key.
export function lastConfigurations(resource: vscodeApi.Uri): Record<string, string> {
  return rungoSettings(resource).get<Record<string, string>>('lastConfiguration') ?? {};
}

// Stores the configurations in the workspace settings and makes `last` the last run of `key`.
export async function saveConfigurations(resource: vscodeApi.Uri, all: RunConfiguration[], key: string,
  last: string): Promise<void> {
  const cfg = rungoSettings(resource);
  await cfg.update('configurations', all, vscode().ConfigurationTarget.Workspace);
  const lasts = { ...(cfg.get<Record<string, string>>('lastConfiguration') ?? {}), [key]: last };
  await cfg.update('lastConfiguration', lasts, vscode().ConfigurationTarget.Workspace);
}

// Stores the configurations in the workspace settings (after one was removed).
export async function storeConfigurations(resource: vscodeApi.Uri, all: RunConfiguration[]): Promise<void> {
  await rungoSettings(resource).update('configurations', all, vscode().ConfigurationTarget.Workspace);
}
