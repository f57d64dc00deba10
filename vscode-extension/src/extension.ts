// Wiring only: the language client, the run terminals, the commands and the settings.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { pickConfiguration, RunTarget } from './configs';
import { bundledLibs, checkGo, findPython, serverEnv } from './python';
import { RunRegistry } from './runs';
import { createClient, isRunning } from './server';

interface RunArg extends RunTarget {
  args?: string[];
  configuration?: string;
  watch?: boolean;
}

export interface RungoApi {
  client(): LanguageClient | undefined;
  registry: RunRegistry;
  lastRun(): RunArg | undefined;
  problem(): string | undefined;
}

class Rungo implements vscode.Disposable {
  client: LanguageClient | undefined;
  readonly output = vscode.window.createOutputChannel('rungo');
  readonly registry: RunRegistry;
  last: RunArg | undefined;
  lastProblem: string | undefined; // why the server is not running, when it could not start
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
    this.lastProblem = undefined;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const libs = bundledLibs(this.context.extensionPath);
    const env = serverEnv(libs);
    const found = await findPython(env, folder);
    if (!found.chosen) {
      this.explain('rungo found no Python 3.11+ that can run its bundled language server', found.problems, [
        'install Python 3.11 or newer (python.org, or your system\'s python3.11 / python3.12 package)',
        'set "rungo.python" to its interpreter (e.g. /usr/bin/python3.12), or select it in the Python extension',
        'run "rungo: Restart Language Server"',
      ], 'rungo.python');
      return;
    }
    const goPath = vscode.workspace.getConfiguration('rungo', folder).get<string>('goPath', '');
    const noGo = checkGo(goPath, env);
    if (noGo) {
      this.explain('rungo needs a Go toolchain', [noGo], [
        'install Go from https://go.dev/dl/ (or your system\'s golang package)',
        'put its bin directory on PATH for VS Code, or set "rungo.goPath" to its go binary',
        'run "rungo: Restart Language Server"',
      ], 'rungo.goPath');
      return;
    }
    const python = found.chosen;
    this.output.appendLine(`starting ${python.path} -m rungo lsp (${python.source}; ${libs ? `bundled server ${libs}` :
      'rungo from that Python\'s environment'})`);
    const client = createClient(python.path, env, this.output, vscode.workspace.isTrusted);
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

  // An error that says what is missing and, on request, the exact steps; it never installs anything.
  private explain(what: string, problems: string[], steps: string[], setting: string): void {
    this.lastProblem = what;
    this.output.appendLine(`${what}:`);
    for (const p of problems) {
      this.output.appendLine(`  ${p}`);
    }
    this.output.appendLine('Steps:');
    steps.forEach((s, i) => this.output.appendLine(`  ${i + 1}. ${s}`));
    const show = 'Show Steps';
    const open = 'Open Setting';
    void vscode.window.showErrorMessage(`${what}: ${steps.join('; ')}.`, show, open).then((pick) => {
      if (pick === show) {
        this.output.show(true);
      } else if (pick === open) {
        void vscode.commands.executeCommand('workbench.action.openSettings', setting);
      }
    });
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

function currentTarget(arg?: unknown): RunTarget | undefined {
  if (arg && typeof arg === 'object' && typeof (arg as RunArg).uri === 'string') {
    const { uri, files } = arg as RunArg;
    return Array.isArray(files) ? { uri, files } : { uri };
  }
  if (arg instanceof vscode.Uri) {
    return { uri: arg.toString() };
  }
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.languageId === 'go' ? { uri: doc.uri.toString() } : undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<RungoApi> {
  const rungo = new Rungo(context);
  context.subscriptions.push(rungo);
  const reg = (name: string, fn: (...args: any[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(name, fn));

  reg('rungo.runCurrent', (arg?: unknown) => {
    const target = currentTarget(arg);
    if (!target) {
      return vscode.window.showWarningMessage('rungo: open a Go file of the package to run.');
    }
    return rungo.run(target);
  });
  // The lens's `Run with arguments…`: choose, edit or add a saved run configuration, then run it.
  const runConfiguration = async (arg?: unknown) => {
    const target = currentTarget(arg);
    if (!target) {
      return vscode.window.showWarningMessage('rungo: open a Go file of the package to run.');
    }
    const name = await pickConfiguration(target);
    if (name !== undefined) {
      return rungo.run({ ...target, configuration: name });
    }
  };
  reg('rungo.runWithArguments', runConfiguration);
  reg('rungo.runConfiguration', runConfiguration);
  // Rerun-on-save for the package (the lens's `Watch`): the same terminal, until `rungo: Stop`.
  reg('rungo.watch', (arg?: unknown) => {
    const target = currentTarget(arg);
    if (!target) {
      return vscode.window.showWarningMessage('rungo: open a Go file of the package to watch.');
    }
    return rungo.run({ ...target, watch: true });
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
  return { client: () => rungo.client, registry: rungo.registry, lastRun: () => rungo.last,
    problem: () => rungo.lastProblem };
}

export function deactivate(): void {}
