import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { closingLine, describeExit, findFileLinks, joinArgs, serverSettings, splitArgs } from '../../src/format';

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

test('serverSettings maps rungo.* configuration to the wire shape', () => {
  const cfg: Record<string, unknown> = { buildFlags: ['-tags', 'x'], 'diagnostics.enabled': false };
  const s = serverSettings((k, d) => (k in cfg ? cfg[k] : d) as typeof d);
  assert.deepEqual(s, {
    goPath: '', buildFlags: ['-tags', 'x'], env: {}, args: {},
    diagnostics: { enabled: false, delayMs: 100, explainExcluded: false },
  });
});
