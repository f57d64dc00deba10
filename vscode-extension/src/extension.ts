// Wiring only: the language client, the run terminals, the commands and the settings.
import * as path from 'path';
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { joinArgs, splitArgs } from './format';
import { checkRungo, findPython } from './python';
import { RunRegistry } from './runs';
import { createClient, isRunning } from './server';

interface RunArg {
  uri: string;
  args?: string[];
}

export interface RungoApi {
  client(): LanguageClient | undefined;
  registry: RunRegistry;
  lastRun(): RunArg | undefined;
}

class Rungo implements vscode.Disposable {
  client: LanguageClient | undefined;
  readonly output = vscode.window.createOutputChannel('rungo');
  readonly registry: RunRegistry;
  last: RunArg | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.registry = new RunRegistry({
      input: (runId, data) => void this.serverCommand('rungo.input', { runId, data }),
      stop: (runId) => void this.serverCommand('rungo.stop', { runId }),
      resize: (runId, cols, rows) => void this.serverCommand('rungo.resize', { runId, cols, rows }),
    });
  }

  async start(): Promise<void> {
    if (!this.starting) {
      this.starting = this.doStart().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async doStart(): Promise<void> {
    await this.stop();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const python = await findPython(folder);
    const problem = checkRungo(python.path);
    if (problem) {
      this.output.appendLine(`rungo cannot start with ${python.path} (${python.source}): ${problem}`);
      const steps = 'Show Steps';
      const pick = await vscode.window.showErrorMessage(
        `rungo is not installed in ${python.path} (${python.source}).`, steps, 'Choose Python…');
      if (pick === steps) {
        // rungo is installed from its repository: never offer a package-registry name it does not own.
        this.output.appendLine('rungo is installed from a checkout of its repository, not from a package registry:');
        this.output.appendLine('  1. clone the rungo repository and change into it');
        this.output.appendLine(`  2. ${JSON.stringify(python.path)} -m pip install -e .`);
        this.output.appendLine('  3. restart the language server (rungo: Restart Language Server), or set "rungo.python"');
        this.output.appendLine('     to the Python where rungo is installed.');
        this.output.show(true);
      } else if (pick) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'rungo.python');
      }
      return;
    }
    this.output.appendLine(`starting ${python.path} -m rungo lsp (${python.source})`);
    const client = createClient(python.path, this.output, vscode.workspace.isTrusted);
    client.onNotification('rungo/runStarted', (p) => this.registry.started(p));
    client.onNotification('rungo/output', (p) => this.registry.output(p));
    client.onNotification('rungo/runExited', (p) => this.registry.exited(p));
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.output.appendLine(`the server failed to start: ${e}`);
      void vscode.window.showErrorMessage(`rungo: the language server failed to start (see Output › rungo).`);
    }
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) {
      try {
        await c.stop();
      } catch (e) {
        this.output.appendLine(`stopping the server: ${e}`);
      }
    }
  }

  async serverCommand(command: string, arg: object): Promise<any> {
    if (!isRunning(this.client)) {
      await this.start();
    }
    if (!this.client) {
      throw new Error('the rungo language server is not running');
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [arg] });
  }

  async run(arg: RunArg): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.commands.executeCommand('rungo.showRestricted');
      return;
    }
    this.last = arg;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === arg.uri);
    if (editor?.document.isDirty) {
      await editor.document.save();
    }
    try {
      await this.serverCommand('rungo.run', arg);
    } catch (e) {
      void vscode.window.showErrorMessage(`rungo: ${e instanceof Error ? e.message : e}`);
    }
  }

  dispose(): void {
    void this.stop();
    this.registry.dispose();
    this.output.dispose();
  }
}

function currentUri(arg?: unknown): string | undefined {
  if (arg && typeof arg === 'object' && typeof (arg as RunArg).uri === 'string') {
    return (arg as RunArg).uri;
  }
  if (arg instanceof vscode.Uri) {
    return arg.toString();
  }
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.languageId === 'go' ? doc.uri.toString() : undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<RungoApi> {
  const rungo = new Rungo(context);
  context.subscriptions.push(rungo);
  const reg = (name: string, fn: (...args: any[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(name, fn));

  reg('rungo.runCurrent', (arg?: unknown) => {
    const uri = currentUri(arg);
    if (!uri) {
      return vscode.window.showWarningMessage('rungo: open a Go file of the package to run.');
    }
    return rungo.run({ uri });
  });
  reg('rungo.runWithArguments', async (arg?: unknown) => {
    const uri = currentUri(arg);
    if (!uri) {
      return vscode.window.showWarningMessage('rungo: open a Go file of the package to run.');
    }
    const dir = path.dirname(vscode.Uri.parse(uri).fsPath);
    const key = `args:${dir}`;
    const previous = context.workspaceState.get<string[]>(key, []);
    const text = await vscode.window.showInputBox({
      prompt: `Arguments for ${path.basename(dir)}`,
      value: joinArgs(previous),
      validateInput: (v) => {
        try {
          splitArgs(v);
          return undefined;
        } catch (e) {
          return String(e instanceof Error ? e.message : e);
        }
      },
    });
    if (text === undefined) {
      return;
    }
    const args = splitArgs(text);
    await context.workspaceState.update(key, args);
    return rungo.run({ uri, args });
  });
  reg('rungo.stopRun', () => {
    const run = rungo.registry.active();
    if (run) {
      return rungo.serverCommand('rungo.stop', { runId: run.runId });
    }
  });
  reg('rungo.rerunLast', () => {
    if (!rungo.last) {
      return vscode.commands.executeCommand('rungo.runCurrent');
    }
    return rungo.run(rungo.last);
  });
  reg('rungo.restartServer', () => rungo.start());
  reg('rungo.showRestricted', () =>
    vscode.window.showInformationMessage(
      'rungo runs no workspace code in Restricted Mode: trust this folder to run programs. Diagnostics stay on.',
      'Manage Workspace Trust',
    ).then((pick) => pick && vscode.commands.executeCommand('workbench.trust.manage')));

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('rungo.python') || e.affectsConfiguration('rungo.goPath')) {
        void rungo.start();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void rungo.start()),
  );
  await rungo.start();
  return { client: () => rungo.client, registry: rungo.registry, lastRun: () => rungo.last };
}

export function deactivate(): void {}
