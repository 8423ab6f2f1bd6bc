import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { clearRestartRequest, CRASH_EXIT_CODE, requestRestart, takeRestartRequest } from './restart-requests';

test('a restart is taken once, only after a requested crash; a crash without a request clears an old one', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restart-requests-'));
  try {
    assert.equal(takeRestartRequest(dir, 'node-2', CRASH_EXIT_CODE), undefined, 'no note: no restart');

    requestRestart(dir, 'node-2', 5_000);
    assert.equal(takeRestartRequest(dir, 'node-3', CRASH_EXIT_CODE), undefined, 'notes are per node');
    assert.equal(takeRestartRequest(dir, 'node-2', CRASH_EXIT_CODE), 5_000);
    assert.equal(takeRestartRequest(dir, 'node-2', CRASH_EXIT_CODE), undefined, 'the note is consumed');

    // Another way out (a clean stop, kill -9: no exit code) does not restart, and consumes the note.
    requestRestart(dir, 'node-2', 1_000);
    assert.equal(takeRestartRequest(dir, 'node-2', 0), undefined);
    assert.equal(takeRestartRequest(dir, 'node-2', CRASH_EXIT_CODE), undefined);
    requestRestart(dir, 'node-2', 1_000);
    assert.equal(takeRestartRequest(dir, 'node-2', null), undefined);

    requestRestart(dir, 'node-2', 1_000);
    clearRestartRequest(dir, 'node-2');
    assert.equal(takeRestartRequest(dir, 'node-2', CRASH_EXIT_CODE), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
