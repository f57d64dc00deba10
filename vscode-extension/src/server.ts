// The language server's lifecycle: finding Python and Go, starting `python -m rungo lsp` (and saying
// what is missing when it cannot), restarting and stopping it, and sending it commands.
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest, LanguageClient, LanguageClientOptions, ServerOptions, State,
} from 'vscode-languageclient/node';
import { bundledLibs, checkGo, findPython, serverEnv } from './python';
import { RunRegistry } from './runs';
import { goPathSetting, initializationOptions } from './settings';

export function createClient(python: string, env: NodeJS.ProcessEnv, output: vscode.OutputChannel,
  trusted: boolean): LanguageClient {
  const serverOptions: ServerOptions = { command: python, args: ['-m', 'rungo', 'lsp'], options: { env } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'go' }],
    outputChannel: output,
    initializationOptions: initializationOptions(trusted),
    synchronize: {
      configurationSection: 'rungo',
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.go,go.mod,go.sum,go.work}'),
    },
  };
  return new LanguageClient('rungo', 'rungo', serverOptions, clientOptions);
}

export function isRunning(client: LanguageClient | undefined): boolean {
  return client !== undefined && client.state === State.Running;
}

// The server of this window: its client (while it runs), its output channel and the run terminals it feeds.
export class Rungo implements vscode.Disposable {
  client: LanguageClient | undefined;
  readonly output = vscode.window.createOutputChannel('rungo');
  readonly registry: RunRegistry;
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
    const noGo = checkGo(goPathSetting(folder), env);
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

  // Sends a workspace/executeCommand, starting the server first when it is not running.
  async serverCommand(command: string, arg: object): Promise<any> {
    if (!isRunning(this.client)) {
      await this.start();
    }
    if (!this.client) {
      throw new Error('the rungo language server is not running');
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [arg] });
  }

  dispose(): void {
    void this.stop();
    this.registry.dispose();
    this.output.dispose();
  }
}
