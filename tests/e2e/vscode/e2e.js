// The rungo extension in a real VS Code (code-server) driven through Chromium.
// Env: RUNGO_VSIX, RUNGO_PYTHON, RUNGO_GO_PATH, RUNGO_WS (a Go module), RUNGO_OUT (screenshots + result.json),
//      RUNGO_MODE = "ui" (click through the workbench) or "host" (extension-host tests).
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { chromium } = require('playwright-core');

const here = __dirname;
const codeServer = path.join(here, 'node_modules', '.bin', 'code-server');
const out = process.env.RUNGO_OUT;
const ws = process.env.RUNGO_WS;
const mode = process.env.RUNGO_MODE || 'ui';
const results = [];
const shots = [];

function record(name, ok, detail) {
  results.push({ name, ok: !!ok, detail: detail ? String(detail).slice(0, 2000) : '' });
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function healthy(port) {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    }).on('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function shot(page, name) {
  const file = path.join(out, `${name}.png`);
  await page.screenshot({ path: file });
  shots.push(file);
}

async function terminalText(page) {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll('.terminal-wrapper.active .xterm-rows, .xterm-rows')];
    return rows.map((r) => r.innerText).join('\n');
  });
}

async function waitFor(fn, timeout, what) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

async function command(page, title) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type(title);
  await sleep(400);
  await page.keyboard.press('Enter');
}

async function openFile(page, rel) {
  // Quick Open fills its result list asynchronously (slowly on a cold start): press Enter only once
  // the file is listed, and try again if the editor tab does not appear.
  const tab = `.tab.active[aria-label*="${path.basename(rel)}"]`;
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type(rel);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(rel) }).first()
      .waitFor({ timeout: 30000 });
    await sleep(300);
    await page.keyboard.press('Enter');
    try {
      await page.waitForSelector(tab, { timeout: 15000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

async function clickRunLens(page) {
  const lens = page.locator('.codelens-decoration a', { hasText: '▶ Run' }).first();
  await lens.waitFor({ timeout: 90000 });
  await lens.click();
}

async function ui(page) {
  await openFile(page, 'hello/main.go');
  const lens = page.locator('.codelens-decoration a', { hasText: '▶ Run' }).first();
  await lens.waitFor({ timeout: 120000 });
  record('run lens above func main', true);
  await shot(page, '01-lens');

  // A type error: squiggle and a Problems entry; fixing it clears both.
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nvar broken int = "text"\n');
  await page.keyboard.press('Control+Shift+M');
  const problem = await waitFor(async () => {
    const t = await page.locator('.markers-panel').innerText();
    return t.includes('cannot use') ? t : '';
  }, 180000, 'a Problems entry');
  await page.waitForSelector('.squiggly-error', { timeout: 10000 });
  record('type error squiggle', true);
  record('problems entry', problem.includes('cannot use'), problem);
  await shot(page, '02-type-error');
  await page.locator('.monaco-editor .view-lines').first().click();
  for (let i = 0; i < 40; i++) await page.keyboard.press('Control+Z');
  await waitFor(async () => (await page.locator('.squiggly-error').count()) === 0, 60000, 'the squiggle to clear');
  const cleared = await waitFor(async () => {
    const t = await page.locator('.markers-panel').innerText();
    return !t.includes('cannot use') ? t || 'empty' : '';
  }, 30000, 'Problems to clear');
  record('fix clears squiggle and problem', true, cleared);
  await page.keyboard.press('Control+S');

  // Run: output and exit status in the terminal panel.
  await clickRunLens(page);
  const text = await waitFor(async () => {
    const t = await terminalText(page);
    return /\[exit 3 · \d+ ms\]/.test(t) ? t : '';
  }, 120000, 'the run to finish in the terminal');
  record('output and exit status in terminal', text.includes('hello from rungo'), text);
  await shot(page, '03-run-output');

  // Typing into the terminal reaches the program.
  await openFile(page, 'echo/main.go');
  await clickRunLens(page);
  await waitFor(async () => (await terminalText(page)).includes('ready'), 120000, 'echo to start');
  await page.locator('.terminal-wrapper.active .xterm, .xterm').last().click();
  await page.keyboard.type('ping');
  await page.keyboard.press('Enter');
  const echoed = await waitFor(async () => {
    const t = await terminalText(page);
    return t.includes('echo: ping') ? t : '';
  }, 30000, 'the echo');
  record('typed line reaches the program', true, echoed);
  await shot(page, '04-echo');

  // Stop ends a long-running program.
  await openFile(page, 'forever/main.go');
  await clickRunLens(page);
  await waitFor(async () => (await terminalText(page)).includes('running'), 120000, 'forever to start');
  await command(page, 'rungo: Stop');
  const stopped = await waitFor(async () => {
    const t = await terminalText(page);
    return /\[SIG(INT|KILL) · \d+ ms\]/.test(t) ? t : '';
  }, 15000, 'the stop');
  record('Stop ends the program', true, stopped);
  await shot(page, '05-stopped');

  // Watch: the lens turns rerun-on-save on; a save restarts the program in the same terminal.
  await openFile(page, 'watched/main.go');
  const watch = page.locator('.codelens-decoration a', { hasText: /^Watch$/ }).first();
  await watch.waitFor({ timeout: 90000 });
  await watch.click();
  await waitFor(async () => (await terminalText(page)).includes('tick v1'), 120000, 'the watch to start');
  const watching = page.locator('.codelens-decoration a', { hasText: '● Watching (stop)' }).first();
  await watching.waitFor({ timeout: 30000 });
  record('the lens shows the watch', true);
  await shot(page, '06-watching');
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nvar _, _ = fmt.Println("tick v2")\n');
  await page.keyboard.press('Control+S');
  const restarted = await waitFor(async () => {
    const t = await terminalText(page);
    return t.includes('tick v1') && t.includes('restarted after save') && t.includes('tick v2') ? t : '';
  }, 60000, 'the restart');
  record('a save restarts it in the same terminal', true, restarted);
  await shot(page, '07-restarted');
  await waitFor(async () => (await page.locator('.tab.active.dirty').count()) === 0, 15000, 'the save');
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nvar _, _ = fmt.Println("tick v3")\n');
  await sleep(2500);
  const unsaved = await terminalText(page);
  const dirty = await page.locator('.tab.active.dirty').count();
  record('an unsaved edit restarts nothing', dirty === 1 && !unsaved.includes('tick v3'), `dirty tabs: ${dirty}\n${unsaved}`);
  for (let i = 0; i < 10; i++) await page.keyboard.press('Control+Z');
  await page.keyboard.press('Control+S');
  await watching.click();
  const ended = await waitFor(async () => {
    const t = await terminalText(page);
    return /\[SIG(INT|KILL) · \d+ ms\]/.test(t) ? t : '';
  }, 15000, 'the watch to stop');
  await watch.waitFor({ timeout: 30000 });
  record('the lens stops the watch', true, ended);
  await shot(page, '08-watch-stopped');
}

async function host(page, port) {
  const ext = path.resolve(process.env.RUNGO_EXT_DIR);
  const tests = path.join(ext, 'test', 'host', 'index.js');
  let done;
  const finished = new Promise((r) => (done = r));
  await page.exposeFunction('codeAutomationExit', (code) => done(code));
  const logged = path.join(out, 'host-results.jsonl');
  fs.rmSync(logged, { force: true });
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${port}${ext}`],
    ['extensionTestsPath', `vscode-remote://127.0.0.1:${port}${tests}`],
  ]);
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(payload)}`);
  const allDone = waitFor(() => fs.existsSync(logged) && /"name":"all steps"/.test(fs.readFileSync(logged, 'utf8')),
    300000, 'the host tests').then(() => 0, () => 'timeout');
  const code = await Promise.race([finished, allDone]);
  if (fs.existsSync(logged)) {
    for (const line of fs.readFileSync(logged, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line);
      record(`host: ${r.name}`, r.ok, r.detail);
    }
  }
  record('host tests exit code', code === 0, `exit ${code}`);
}

async function main() {
  fs.mkdirSync(out, { recursive: true });
  const data = path.join(out, 'user-data');
  const exts = path.join(out, 'extensions');
  fs.mkdirSync(path.join(data, 'User'), { recursive: true });
  fs.writeFileSync(path.join(data, 'User', 'settings.json'), JSON.stringify({
    'rungo.python': process.env.RUNGO_PYTHON,
    'rungo.goPath': process.env.RUNGO_GO_PATH || '',
    'rungo.diagnostics.delayMs': 50,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'terminal.integrated.gpuAcceleration': 'off',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'telemetry.telemetryLevel': 'off',
    'editor.codeLens': true,
    'files.autoSave': 'off',
    'window.zoomLevel': 0,
  }, null, 2));
  const env = {
    ...process.env,
    EXTENSIONS_GALLERY: '{"serviceUrl":"http://127.0.0.1:9/g"}',
  };
  if (mode === 'ui') {
    const inst = spawnSync(codeServer, ['--user-data-dir', data, '--extensions-dir', exts,
      '--install-extension', process.env.RUNGO_VSIX], { env, encoding: 'utf8', timeout: 120000 });
    record('install the .vsix', inst.status === 0, inst.stdout + inst.stderr);
  }
  const port = await freePort();
  const server = spawn(codeServer, ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
    '--user-data-dir', data, '--extensions-dir', exts, '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', ws], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  let browser;
  try {
    await waitFor(() => healthy(port), 60000, 'code-server');
    browser = await chromium.launch({
      executablePath: process.env.RUNGO_CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    if (mode === 'host') {
      await host(page, port);
    } else {
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
      await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
      await sleep(1500);
      try {
        await ui(page);
      } catch (e) {
        record('ui flow', false, e && e.stack ? e.stack : e);
        await shot(page, 'failure').catch(() => {});
      }
    }
  } catch (e) {
    record('harness', false, `${e && e.stack ? e.stack : e}\n--- code-server log ---\n${log.slice(-3000)}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch (e) {}
  }
  fs.writeFileSync(path.join(out, 'result.json'), JSON.stringify({ results, shots }, null, 2));
  for (const s of shots) console.log(`screenshot: ${s}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
