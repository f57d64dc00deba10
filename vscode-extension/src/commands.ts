// The commands of the palette, the lenses and the terminals: run the current package (as is, with a
// saved configuration, or watched), stop, rerun the last, restart the server, the Restricted Mode notice.
import * as vscode from 'vscode';
import { pickConfiguration, RunTarget } from './configs';
import { Rungo } from './server';

export interface RunArg extends RunTarget {
  args?: string[];
  configuration?: string;
  watch?: boolean;
}

// Starts runs through the server and remembers the last one, for `rungo: Rerun Last`.
export class Launcher {
  last: RunArg | undefined;

  constructor(private readonly rungo: Rungo) {}

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
      await this.rungo.serverCommand('rungo.run', arg);
    } catch (e) {
      void vscode.window.showErrorMessage(`rungo: ${e instanceof Error ? e.message : e}`);
    }
  }
}

// The target of a command: the lens's argument, an explorer URI, or the active Go editor.
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

export function registerCommands(context: vscode.ExtensionContext, rungo: Rungo): Launcher {
  const launcher = new Launcher(rungo);
  const reg = (name: string, fn: (...args: any[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(name, fn));

  reg('rungo.runCurrent', (arg?: unknown) => {
    const target = currentTarget(arg);
    if (!target) {
      return vscode.window.showWarningMessage('rungo: open a Go file of the package to run.');
    }
    return launcher.run(target);
  });
  // The lens's `Run with arguments…`: choose, edit or add a saved run configuration, then run it.
  const runConfiguration = async (arg?: unknown) => {
    const target = currentTarget(arg);
    if (!target) {
      return vscode.window.showWarningMessage('rungo: open a Go file of the package to run.');
    }
    const name = await pickConfiguration(target);
    if (name !== undefined) {
      return launcher.run({ ...target, configuration: name });
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
    return launcher.run({ ...target, watch: true });
  });
  reg('rungo.stopRun', () => {
    const run = rungo.registry.active();
    if (run) {
      return rungo.serverCommand('rungo.stop', { runId: run.runId });
    }
  });
  reg('rungo.rerunLast', () => {
    if (!launcher.last) {
      return vscode.commands.executeCommand('rungo.runCurrent');
    }
    return launcher.run(launcher.last);
  });
  reg('rungo.restartServer', () => rungo.start());
  reg('rungo.showRestricted', () =>
    vscode.window.showInformationMessage(
      'rungo runs no workspace code in Restricted Mode: trust this folder to run programs. Diagnostics stay on.',
      'Manage Workspace Trust',
    ).then((pick) => pick && vscode.commands.executeCommand('workbench.trust.manage')));
  return launcher;
}
