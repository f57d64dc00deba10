// Extension-host tests: the same flow as the UI test, through the vscode API.
'use strict';
const vscode = require('vscode');

const fs = require('fs');
const path = require('path');

function log(name, ok, detail) {
  console.log(`rungo-host:${name}|${ok ? 'ok' : 'fail'}|${detail || ''}`);
  if (process.env.RUNGO_OUT) {
    fs.appendFileSync(path.join(process.env.RUNGO_OUT, 'host-results.jsonl'),
      JSON.stringify({ name, ok, detail: String(detail || '').slice(0, 2000) }) + '\n');
  }
}

async function waitFor(fn, timeout, what) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function nextExit(api) {
  return new Promise((resolve) => {
    const d = api.registry.onExit.event((e) => {
      d.dispose();
      resolve(e);
    });
  });
}

async function step(name, fn) {
  try {
    const detail = await fn();
    log(name, true, detail);
  } catch (e) {
    log(name, false, e && e.stack ? e.stack : e);
    throw e;
  }
}

exports.run = async function run() {
  const ws = vscode.workspace.workspaceFolders[0].uri;
  const ext = vscode.extensions.getExtension('rungo.rungo');
  const api = await ext.activate();
  const main = vscode.Uri.joinPath(ws, 'hello', 'main.go');
  const doc = await vscode.workspace.openTextDocument(main);
  const editor = await vscode.window.showTextDocument(doc);
  const original = doc.getText();

  await step('diagnostic appears', async () => {
    await editor.edit((b) => b.insert(new vscode.Position(doc.lineCount, 0), '\nvar broken int = "text"\n'));
    const d = await waitFor(() => vscode.languages.getDiagnostics(main).find((x) => x.message.includes('cannot use')),
      180000, 'the type error');
    return `${d.range.start.line}:${d.range.start.character} ${d.message}`;
  });
  await step('diagnostic clears', async () => {
    const all = new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length));
    await editor.edit((b) => b.replace(all, original));
    await doc.save();
    await waitFor(() => vscode.languages.getDiagnostics(main).length === 0, 60000, 'no diagnostics');
  });
  let lens;
  await step('run lens', async () => {
    lens = await waitFor(async () => {
      const lenses = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', main);
      return (lenses || []).find((l) => l.command && l.command.title === '▶ Run');
    }, 60000, 'the ▶ Run lens');
    return `line ${lens.range.start.line}`;
  });
  await step('run through the lens', async () => {
    const exited = nextExit(api);
    await vscode.commands.executeCommand(lens.command.command, ...(lens.command.arguments || []));
    const { run, exit } = await exited;
    if (exit.exitCode !== 3 || !run.text.includes('hello from rungo') || !/\[exit 3 · \d+ ms\]/.test(run.text)) {
      throw new Error(`unexpected run: ${JSON.stringify(exit)} ${JSON.stringify(run.text)}`);
    }
    if (run.terminal.name !== 'rungo: hello') throw new Error(`terminal named ${run.terminal.name}`);
    return run.text.trim();
  });
  await step('input reaches the program', async () => {
    const echo = vscode.Uri.joinPath(ws, 'echo', 'main.go');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(echo));
    const exited = nextExit(api);
    await vscode.commands.executeCommand('rungo.runCurrent', { uri: echo.toString() });
    const run = await waitFor(() => api.registry.running().find((r) => r.text.includes('ready')), 120000, 'ready');
    run.handleInput('ping\r');
    await waitFor(() => run.text.includes('echo: ping'), 30000, 'the echo');
    run.handleInput('\x04');
    run.handleInput('\x03');
    await exited;
  });
  await step('stop ends a long-running program', async () => {
    const forever = vscode.Uri.joinPath(ws, 'forever', 'main.go');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(forever));
    const exited = nextExit(api);
    await vscode.commands.executeCommand('rungo.runCurrent', { uri: forever.toString() });
    await waitFor(() => api.registry.running().find((r) => r.text.includes('running')), 120000, 'running');
    const t0 = Date.now();
    await vscode.commands.executeCommand('rungo.stopRun');
    const { exit } = await exited;
    if (!exit.signal || Date.now() - t0 > 3000) throw new Error(`stop: ${JSON.stringify(exit)}`);
    return `${exit.signal} after ${Date.now() - t0} ms`;
  });
  await step('rerun last', async () => {
    const exited = nextExit(api);
    await vscode.commands.executeCommand('rungo.rerunLast');
    await waitFor(() => api.registry.running().find((r) => r.text.includes('running')), 120000, 'running again');
    await vscode.commands.executeCommand('rungo.stopRun');
    await exited;
  });
  const argsUri = vscode.Uri.joinPath(ws, 'args', 'main.go');
  const want = `args=["a" "b c"] greeting=hi wd=${vscode.Uri.joinPath(ws, 'data').fsPath}`;
  const runOf = async (command) => {
    const exited = nextExit(api);
    await vscode.commands.executeCommand(command.command, ...(command.arguments || []));
    const { run } = await exited;
    return run.text;
  };
  await step('the lens offers the last configuration', async () => {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(argsUri));
    const cfg = vscode.workspace.getConfiguration('rungo', argsUri);
    await cfg.update('configurations', [{ name: 'dev', package: 'args', args: ['a', 'b c'], env: { GREETING: 'hi' },
      cwd: '../data' }], vscode.ConfigurationTarget.Workspace);
    await cfg.update('lastConfiguration', { args: 'dev' }, vscode.ConfigurationTarget.Workspace);
    const lens = await waitFor(async () => {
      const lenses = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', argsUri);
      return (lenses || []).find((l) => l.command && l.command.title === '▶ Run (dev)');
    }, 60000, 'the ▶ Run (dev) lens');
    const text = await runOf(lens.command);
    if (!text.includes(want)) throw new Error(`output: ${JSON.stringify(text)}`);
    return text.trim();
  });
  await step('the quick pick runs a configuration', async () => {
    const exited = nextExit(api);
    const picked = vscode.commands.executeCommand('rungo.runConfiguration', { uri: argsUri.toString() });
    await new Promise((r) => setTimeout(r, 1500));
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await picked;
    const { run } = await exited;
    if (!run.text.includes(want)) throw new Error(`output: ${JSON.stringify(run.text)}`);
    const last = vscode.workspace.getConfiguration('rungo', argsUri).get('lastConfiguration');
    return `${run.text.trim()} last=${JSON.stringify(last)}`;
  });
  await step('code action runs the package', async () => {
    const doc = await vscode.workspace.openTextDocument(argsUri);
    const line = doc.getText().split('\n').indexOf('func main() {');
    const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', argsUri,
      new vscode.Range(line, 0, line, 0));
    const titles = (actions || []).map((a) => a.title);
    const action = (actions || []).find((a) => a.title === 'Run main package');
    if (!action || !titles.includes('Run main package (dev)')) throw new Error(`actions: ${JSON.stringify(titles)}`);
    const text = await runOf(action.command);
    if (!text.includes('args=[] greeting= wd=')) throw new Error(`output: ${JSON.stringify(text)}`);
    return `${JSON.stringify(titles)} ${text.trim()}`;
  });
  await step('beside gopls the type error is left to gopls', async () => {
    const cfg = vscode.workspace.getConfiguration('rungo');
    await cfg.update('diagnostics.besideGopls', 'on', vscode.ConfigurationTarget.Workspace);
    const typed = await vscode.workspace.openTextDocument(main);
    const ed = await vscode.window.showTextDocument(typed);
    await ed.edit((b) => b.insert(new vscode.Position(typed.lineCount, 0), '\nvar broken int = "text"\n'));
    await new Promise((r) => setTimeout(r, 5000));
    const shown = vscode.languages.getDiagnostics(main).filter((x) => x.message.includes('cannot use'));
    if (shown.length) throw new Error(`shown beside gopls: ${shown.map((x) => x.message).join('; ')}`);
    await cfg.update('diagnostics.besideGopls', undefined, vscode.ConfigurationTarget.Workspace);
    const d = await waitFor(() => vscode.languages.getDiagnostics(main).find((x) => x.message.includes('cannot use')),
      60000, 'the type error once the setting is back to auto');
    const all = new vscode.Range(typed.positionAt(0), typed.positionAt(typed.getText().length));
    await ed.edit((b) => b.replace(all, original));
    await typed.save();
    return `${d.range.start.line}:${d.range.start.character} ${d.message}`;
  });
  log('all steps', true, '');
};
