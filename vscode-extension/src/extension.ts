// Wiring only: the language server (server.ts), the commands (commands.ts), the run terminals
// (runs.ts) and the settings that restart the server (settings.ts).
import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';
import { registerCommands, RunArg } from './commands';
import { RunRegistry } from './runs';
import { Rungo } from './server';
import { onStartSettingsChange } from './settings';

export interface RungoApi {
  client(): LanguageClient | undefined;
  registry: RunRegistry;
  lastRun(): RunArg | undefined;
  problem(): string | undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<RungoApi> {
  const rungo = new Rungo(context);
  context.subscriptions.push(rungo);
  const launcher = registerCommands(context, rungo);
  context.subscriptions.push(
    onStartSettingsChange(() => void rungo.start()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void rungo.start()),
  );
  await rungo.start();
  return { client: () => rungo.client, registry: rungo.registry, lastRun: () => launcher.last,
    problem: () => rungo.lastProblem };
}

export function deactivate(): void {}
