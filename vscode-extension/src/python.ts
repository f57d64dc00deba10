// Which Python runs the server: the rungo.python setting, the Python extension's interpreter, python3.
import { spawnSync } from 'child_process';
import * as vscode from 'vscode';

export interface PythonChoice {
  path: string;
  source: string;
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

export async function findPython(resource?: vscode.Uri): Promise<PythonChoice> {
  const setting = vscode.workspace.getConfiguration('rungo', resource).get<string>('python', '');
  if (setting) {
    return { path: setting, source: 'the rungo.python setting' };
  }
  const fromExt = await fromPythonExtension(resource);
  if (fromExt) {
    return { path: fromExt, source: "the Python extension's interpreter" };
  }
  return { path: 'python3', source: 'python3 on PATH' };
}

// Empty when rungo can be imported, else what went wrong.
export function checkRungo(python: string): string {
  const r = spawnSync(python, ['-c', 'import rungo.lsp.server'], { encoding: 'utf8', timeout: 30000 });
  if (r.error) {
    return `${python}: ${r.error.message}`;
  }
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() || `exit status ${r.status}`;
    return last;
  }
  return '';
}
