// Run configurations: a quick pick to choose, edit or add one for a package (or a file-scoped main);
// settings.ts stores them in the workspace settings (rungo.configurations, rungo.lastConfiguration).
import * as path from 'path';
import * as vscode from 'vscode';
import { describeConfiguration, formatEnv, joinArgs, parseEnv, splitArgs } from './format';
import {
  configurationsOf, lastConfigurations, RunConfiguration, saveConfigurations, savedConfigurations, storeConfigurations,
  targetKey, withConfiguration,
} from './settings';

export interface RunTarget {
  uri: string;
  files?: string[]; // set for a file-scoped main, which runs as `go run file.go`
}

// The configuration key of a target: its package directory, or its file for a file-scoped main.
export function keyOf(target: RunTarget): { key: string; label: string } {
  const file = vscode.Uri.parse(target.uri);
  const place = target.files ? file.fsPath : path.dirname(file.fsPath);
  const folder = vscode.workspace.getWorkspaceFolder(file)?.uri.fsPath;
  return { key: targetKey(folder, place), label: path.basename(place) };
}

function validator(parse: (v: string) => unknown) {
  return (v: string) => {
    try {
      parse(v);
      return undefined;
    } catch (e) {
      return String(e instanceof Error ? e.message : e);
    }
  };
}

// Asks for each field of a configuration in turn; undefined when the user escapes.
export async function editConfiguration(start: RunConfiguration, taken: string[]): Promise<RunConfiguration | undefined> {
  const name = await vscode.window.showInputBox({
    title: 'Run configuration: name', value: start.name,
    validateInput: (v) => (!v.trim() ? 'a name is needed' : taken.includes(v.trim()) ? `${v.trim()} exists` : undefined),
  });
  if (name === undefined) return undefined;
  const args = await vscode.window.showInputBox({
    title: `${name}: program arguments (shell quoting)`, value: joinArgs(start.args ?? []), validateInput: validator(splitArgs),
  });
  if (args === undefined) return undefined;
  const env = await vscode.window.showInputBox({
    title: `${name}: environment (KEY=value …)`, value: formatEnv(start.env), validateInput: validator(parseEnv),
  });
  if (env === undefined) return undefined;
  const cwd = await vscode.window.showInputBox({
    title: `${name}: working directory (relative to the package; empty: the package's)`, value: start.cwd ?? '',
  });
  if (cwd === undefined) return undefined;
  const flags = await vscode.window.showInputBox({
    title: `${name}: build flags (e.g. -tags dev)`, value: joinArgs(start.buildFlags ?? []), validateInput: validator(splitArgs),
  });
  if (flags === undefined) return undefined;
  return { name: name.trim(), package: start.package, args: splitArgs(args), env: parseEnv(env), cwd: cwd.trim(),
    buildFlags: splitArgs(flags) };
}

interface Item extends vscode.QuickPickItem {
  config?: RunConfiguration;
}

const EDIT: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('edit'), tooltip: 'Edit' };
const REMOVE: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Remove' };

// Choose (runs it), edit or add a configuration of target; the name to run, or undefined.
export async function pickConfiguration(target: RunTarget): Promise<string | undefined> {
  const resource = vscode.Uri.parse(target.uri);
  const { key, label } = keyOf(target);
  for (;;) {
    const all = savedConfigurations(resource);
    const mine = configurationsOf(all, key);
    const last = lastConfigurations(resource)[key];
    const items: Item[] = mine.map((c) => ({
      label: c.name, description: c.name === last ? 'last run' : undefined, detail: describeConfiguration(c),
      config: c, buttons: [EDIT, REMOVE],
    }));
    items.sort((a, b) => Number(b.config?.name === last) - Number(a.config?.name === last));
    items.push({ label: '$(add) Add configuration…', alwaysShow: true });
    const pick = vscode.window.createQuickPick<Item>();
    pick.title = `Run ${label}`;
    pick.placeholder = 'Choose a run configuration, or add one';
    pick.items = items;
    type Choice = { item?: Item; button?: vscode.QuickInputButton };
    const choice = await new Promise<Choice>((resolve) => {
      pick.onDidAccept(() => resolve({ item: pick.selectedItems[0] }));
      pick.onDidTriggerItemButton((e) => resolve({ item: e.item, button: e.button }));
      pick.onDidHide(() => resolve({}));
      pick.show();
    });
    pick.dispose();
    const item = choice.item;
    if (!item) return undefined;
    const taken = mine.map((c) => c.name);
    if (!item.config) {
      const fresh = await editConfiguration({ name: `config ${mine.length + 1}`, package: key }, taken);
      if (!fresh) return undefined;
      await saveConfigurations(resource, withConfiguration(all, fresh), key, fresh.name);
      return fresh.name;
    }
    if (choice.button === REMOVE) {
      await storeConfigurations(resource, all.filter((c) => c !== item.config));
      continue;
    }
    if (choice.button === EDIT) {
      const edited = await editConfiguration(item.config, taken.filter((n) => n !== item.config!.name));
      if (edited) {
        await saveConfigurations(resource, withConfiguration(all, edited, item.config.name), key, edited.name);
      }
      continue;
    }
    await saveConfigurations(resource, all, key, item.config.name);
    return item.config.name;
  }
}
