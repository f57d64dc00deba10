import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { closingLine, describeConfiguration, describeExit, findFileLinks, joinArgs, parseEnv, splitArgs } from '../../src/format';
import {
  configurationsOf, goplsServesWith, serverKeys, serverSettings, targetKey, withConfiguration,
} from '../../src/settings';

test('describeExit covers exit codes, signals and failed stages', () => {
  assert.equal(describeExit({ exitCode: 0, signal: null, durationMs: 84, stage: 'run' }), 'exit 0 · 84 ms');
  assert.equal(describeExit({ exitCode: null, signal: 'SIGINT', durationMs: 5, stage: 'run' }), 'SIGINT · 5 ms');
  assert.equal(describeExit({ exitCode: null, signal: null, durationMs: 5, stage: 'build' }), 'build failed');
  assert.match(closingLine({ exitCode: 3, signal: null, durationMs: 1, stage: 'run' }), /\[exit 3 · 1 ms\]/);
});

test('splitArgs follows shell quoting and joinArgs round-trips', () => {
  assert.deepEqual(splitArgs(`a "b c" 'd e' f\\ g ""`), ['a', 'b c', 'd e', 'f g', '']);
  assert.deepEqual(splitArgs('   '), []);
  assert.throws(() => splitArgs('"open'), /unterminated/);
  for (const args of [['x'], ['a b', "it's", '-flag=1', '']]) {
    assert.deepEqual(splitArgs(joinArgs(args)), args);
  }
});

test('findFileLinks finds compiler and panic positions', () => {
  const links = findFileLinks('./main.go:12:5: undefined: x and /abs/dir/util.go:7 there');
  assert.deepEqual(links.map((l) => [l.path, l.line, l.column]), [['./main.go', 12, 5], ['/abs/dir/util.go', 7, 1]]);
  assert.equal(links[0].start, 0);
  assert.equal(findFileLinks('no links here: 12:5').length, 0);
});

test('serverSettings maps every rungo.* setting but the client\'s own to the wire shape', () => {
  const keys = serverKeys();
  assert.ok(keys.includes('diagnostics.delayMs') && keys.includes('configurations') && !keys.includes('python'));
  const cfg: Record<string, unknown> = { buildFlags: ['-tags', 'x'], 'diagnostics.enabled': false, 'diagnostics.delayMs': 100 };
  const s = serverSettings((k) => cfg[k], keys);
  assert.deepEqual(s, { buildFlags: ['-tags', 'x'], diagnostics: { enabled: false, delayMs: 100 } });
});

test('run configurations: keys, matching, environment words, replacing', () => {
  assert.equal(targetKey('/ws', '/ws/cmd/hello'), 'cmd/hello');
  assert.equal(targetKey('/ws', '/ws'), '.');
  assert.equal(targetKey('/ws', '/elsewhere/x'), '/elsewhere/x');
  const all = [{ name: 'dev', package: 'hello', args: ['a', 'b c'] }, { name: 'x', package: './other/' }];
  assert.deepEqual(configurationsOf(all, 'hello').map((c) => c.name), ['dev']);
  assert.deepEqual(configurationsOf(all, 'other').map((c) => c.name), ['x']);
  assert.deepEqual(parseEnv(`A=1 B='two words' C=`), { A: '1', B: 'two words', C: '' });
  assert.throws(() => parseEnv('nokey'), /KEY=value/);
  assert.equal(describeConfiguration({ name: 'dev', package: 'hello', args: ['a', 'b c'], env: { A: '1' }, cwd: '..' }),
    "a 'b c' · A=1 · in ..");
  const renamed = withConfiguration(all, { name: 'prod', package: 'hello' }, 'dev');
  assert.deepEqual(renamed.map((c) => c.name), ['prod', 'x']);
  assert.equal(withConfiguration(all, { name: 'new', package: 'hello' }).length, 3);
});

test('gopls serves Go files when the Go extension is there with its language server on', () => {
  assert.equal(goplsServesWith(true, undefined), true);
  assert.equal(goplsServesWith(true, true), true);
  assert.equal(goplsServesWith(true, false), false);
  assert.equal(goplsServesWith(false, true), false);
});
