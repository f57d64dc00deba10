// One Pseudoterminal per run, fed by rungo/output; typing goes to stdin, Ctrl-C stops.
import * as path from 'path';
import * as vscode from 'vscode';
import { closingLine, describeExit, findFileLinks, RunExit } from './format';

export interface RunControl {
  input(runId: string, data: string): void;
  stop(runId: string): void;
  resize(runId: string, cols: number, rows: number): void;
}

export class RunTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private opened = false;
  private pending: string[] = [];
  exited: RunExit | undefined;
  terminal: vscode.Terminal | undefined;
  text = ''; // the last 64 KiB written, for the status and for tests

  constructor(readonly runId: string, readonly name: string, readonly dir: string, private readonly control: RunControl) {}

  open(dims: vscode.TerminalDimensions | undefined): void {
    this.opened = true;
    for (const p of this.pending) {
      this.writeEmitter.fire(p);
    }
    this.pending = [];
    if (dims && !this.exited) {
      this.control.resize(this.runId, dims.columns, dims.rows);
    }
  }

  close(): void {
    if (!this.exited) {
      this.control.stop(this.runId);
    }
  }

  handleInput(data: string): void {
    if (this.exited) {
      return;
    }
    if (data === '\x03') {
      this.control.stop(this.runId);
      return;
    }
    this.control.input(this.runId, data);
  }

  setDimensions(dims: vscode.TerminalDimensions): void {
    if (!this.exited) {
      this.control.resize(this.runId, dims.columns, dims.rows);
    }
  }

  write(data: string): void {
    this.text = (this.text + data).slice(-65536);
    if (this.opened) {
      this.writeEmitter.fire(data);
    } else {
      this.pending.push(data);
    }
  }

  finish(e: RunExit): void {
    this.exited = e;
    this.write(closingLine(e));
  }
}

export class RunRegistry implements vscode.Disposable {
  readonly runs = new Map<string, RunTerminal>();
  private readonly status: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  lastResult: string | undefined;
  readonly onExit = new vscode.EventEmitter<{ run: RunTerminal; exit: RunExit }>();

  constructor(private readonly control: RunControl) {
    this.status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
    this.status.command = 'rungo.rerunLast';
    this.disposables.push(this.status, this.onExit);
    this.disposables.push(vscode.window.registerTerminalLinkProvider(new FileLinkProvider(this)));
  }

  started(p: { runId: string; name: string; package: string; restart?: boolean; watch?: boolean }): RunTerminal {
    const known = this.runs.get(p.runId);
    if (known && p.restart) {
      // A watch restarted its program after a save: the same terminal goes on.
      known.write(`\r\n\x1b[2m[restarted after save]\x1b[0m\r\n`);
      this.status.text = `$(eye) rungo: ${p.name} · watching`;
      return known;
    }
    const run = new RunTerminal(p.runId, p.name, p.package, this.control);
    this.runs.set(p.runId, run);
    run.terminal = vscode.window.createTerminal({ name: `rungo: ${p.name}`, pty: run });
    run.terminal.show(true);
    this.status.text = p.watch ? `$(eye) rungo: ${p.name} · watching` : `$(sync~spin) rungo: ${p.name}`;
    this.status.tooltip = p.watch ? 'Watching: each save restarts it — click to run again' : 'Running — click to run again';
    this.status.show();
    return run;
  }

  output(p: { runId: string; data: string }): void {
    this.runs.get(p.runId)?.write(p.data);
  }

  exited(p: { runId: string } & RunExit): void {
    const run = this.runs.get(p.runId);
    if (!run) {
      return;
    }
    run.finish(p);
    const text = describeExit(p);
    this.lastResult = `${run.name}: ${text}`;
    const ok = p.stage === 'run' && p.exitCode === 0;
    this.status.text = `${ok ? '$(check)' : '$(error)'} rungo: ${run.name} · ${text}`;
    this.status.tooltip = 'Last run — click to run again';
    this.onExit.fire({ run, exit: p });
  }

  running(): RunTerminal[] {
    return [...this.runs.values()].filter((r) => !r.exited);
  }

  active(): RunTerminal | undefined {
    const term = vscode.window.activeTerminal;
    const mine = [...this.runs.values()].find((r) => r.terminal === term && !r.exited);
    return mine ?? this.running().pop();
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}

interface RungoLink extends vscode.TerminalLink {
  file: string;
  line: number;
  column: number;
}

class FileLinkProvider implements vscode.TerminalLinkProvider<RungoLink> {
  constructor(private readonly registry: RunRegistry) {}

  provideTerminalLinks(context: vscode.TerminalLinkContext): RungoLink[] {
    const run = [...this.registry.runs.values()].find((r) => r.terminal === context.terminal);
    if (!run) {
      return [];
    }
    return findFileLinks(context.line).map((l) => ({
      startIndex: l.start,
      length: l.length,
      tooltip: 'Open file',
      file: path.isAbsolute(l.path) ? l.path : path.join(run.dir, l.path),
      line: l.line,
      column: l.column,
    }));
  }

  async handleTerminalLink(link: RungoLink): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(link.file));
    const pos = new vscode.Position(Math.max(0, link.line - 1), Math.max(0, link.column - 1));
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos) });
  }
}
