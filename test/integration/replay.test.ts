// Replays recorded lifecycle histories against the current workflow code: a change that would break running
// certificate workflows (non-determinism) fails here. Re-record with AUTOSSL_RECORD_HISTORIES=1 when a change
// is meant to be incompatible (and plan the migration of running workflows). Histories of older code stay in
// sub-folders as long as a `patched()` branch still serves them.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../src/worker/worker';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/histories');

describe('replay of recorded lifecycle histories', () => {
  it('replays every recorded run without non-determinism', async () => {
    // Sub-folders keep the histories of earlier workflow code, which running workflows may still have.
    const files = (await fs.readdir(FIXTURES, { recursive: true })).filter((f) => f.endsWith('.json')).sort();
    assert.ok(files.length >= 5, `expected recorded histories in ${FIXTURES}`);
    const workflowBundle = await bundleWorkflows();
    const histories = await Promise.all(
      files.map(async (f) => ({ workflowId: f, history: JSON.parse(await fs.readFile(path.join(FIXTURES, f), 'utf8')) as unknown })),
    );
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
