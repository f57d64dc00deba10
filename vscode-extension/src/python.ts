// Which Python runs the bundled server: the rungo.python setting, the Python extension's interpreter,
// python3 on PATH; the first that is Python 3.11+ and can import the server wins. And which go it uses.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { pythonSetting } from './settings';

export interface PythonChoice {
  path: string;
  source: string;
}

// The server and its Python dependencies, carried by the .vsix (filled by tools/bundle_server.py).
export function bundledLibs(extensionPath: string): string | undefined {
  const libs = path.join(extensionPath, 'bundled', 'libs');
  return fs.existsSync(path.join(libs, 'rungo', '__init__.py')) ? libs : undefined;
}

// The environment the server runs with: the bundled libraries first on the module path.
export function serverEnv(libs: string | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
  if (libs) {
    env.PYTHONPATH = base.PYTHONPATH ? `${libs}${path.delimiter}${base.PYTHONPATH}` : libs;
  }
  return env;
}

async function fromPythonExtension(resource?: vscode.Uri): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) {
    return undefined;
  }
  try {
    const api: any = ext.isActive ? ext.exports : await ext.activate();
    const env = api?.environments?.getActiveEnvironmentPath?.(resource);
    if (env?.path) {
      return env.path as string;
    }
    const details = api?.settings?.getExecutionDetails?.(resource);
    return details?.execCommand?.[0];
  } catch {
    return undefined;
  }
}

export async function candidates(resource?: vscode.Uri): Promise<PythonChoice[]> {
  const out: PythonChoice[] = [];
  const setting = pythonSetting(resource);
  if (setting) {
    out.push({ path: setting, source: 'the rungo.python setting' });
  }
  const fromExt = await fromPythonExtension(resource);
  if (fromExt) {
    out.push({ path: fromExt, source: "the Python extension's interpreter" });
  }
  out.push({ path: 'python3', source: 'python3 on PATH' });
  return out;
}

// Empty when this Python can start the server, else what is wrong with it.
export function checkPython(python: string, env: NodeJS.ProcessEnv): string {
  const probe = 'import sys\nif sys.version_info < (3, 11): sys.exit("Python %d.%d is too old: rungo needs 3.11 or newer" % sys.version_info[:2])\nimport rungo.lsp.server';
  const r = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 30000, env });
  if (r.error) {
    return `${python}: ${r.error.message}`;
  }
  if (r.status !== 0) {
    return (r.stderr || '').trim().split('\n').pop() || `exit status ${r.status}`;
  }
  return '';
}

export interface PythonFound {
  chosen?: PythonChoice;
  problems: string[]; // one line per candidate that could not start the server
}

// The first candidate that can start the server (setting, Python extension, python3).
export async function findPython(env: NodeJS.ProcessEnv, resource?: vscode.Uri): Promise<PythonFound> {
  const problems: string[] = [];
  for (const c of await candidates(resource)) {
    const problem = checkPython(c.path, env);
    if (!problem) {
      return { chosen: c, problems };
    }
    problems.push(`${c.path} (${c.source}): ${problem}`);
    if (c.source === 'the rungo.python setting') {
      break; // an explicit choice is never silently replaced
    }
  }
  return { problems };
}

// The go the server will use: rungo.goPath, RUNGO_GO, go on PATH; empty when found, else the problem.
export function checkGo(goPath: string, env: NodeJS.ProcessEnv): string {
  const go = goPath || env.RUNGO_GO || 'go';
  const r = spawnSync(go, ['version'], { encoding: 'utf8', timeout: 30000, env });
  if (r.error || r.status !== 0) {
    const where = goPath ? `rungo.goPath (${goPath})` : env.RUNGO_GO ? `RUNGO_GO (${env.RUNGO_GO})` : '`go` on PATH';
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop() || `exit status ${r.status}`;
    return `no Go toolchain: ${where}: ${why} (PATH=${env.PATH ?? ''})`;
  }
  return '';
}
