// Starting and restarting the language client for `python -m rungo lsp`.
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, State } from 'vscode-languageclient/node';
import { goplsServesWith, serverSettings } from './format';

export function initializationOptions(trusted: boolean): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration('rungo');
  return { ...serverSettings((k) => cfg.get(k)), rungoOutput: true, allowRuns: trusted, goplsActive: goplsServes() };
}

// Whether the official Go extension is installed and enabled here with its language server (gopls) on.
export function goplsServes(): boolean {
  return goplsServesWith(vscode.extensions.getExtension('golang.go') !== undefined,
    vscode.workspace.getConfiguration('go').get('useLanguageServer'));
}

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
