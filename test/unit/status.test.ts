import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { msNumberToTs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { describeRetry, retryingSteps } from '../../src/client/commands/status';

type Pending = temporal.api.workflow.v1.IPendingActivityInfo;

const at = (iso: string) => msNumberToTs(Date.parse(iso));
const failure = (message: string, type = 'PluginIoError') => ({
  message,
  stackTrace: 'Error\n    at x (y.js:1:1)',
  applicationFailureInfo: { type },
});

describe('retryingSteps', () => {
  test('lists the steps that failed at least once, with the last error and when the next attempt starts', () => {
    const pending: Pending[] = [
      // First attempt running: nothing to report yet.
      { activityType: { name: 'deployToServer' }, attempt: 1, maximumAttempts: 3, scheduledTime: at('2026-01-01T00:00:00Z') },
      {
        activityType: { name: 'issueCertificate' },
        attempt: 3,
        maximumAttempts: 8,
        scheduledTime: at('2026-01-01T00:00:01Z'),
        lastFailure: failure("certificate authority 'X' (acme): no answer from https://ca.test (ECONNREFUSED)"),
        nextAttemptScheduleTime: at('2026-01-01T00:00:09Z'),
      },
    ];
    assert.deepEqual(retryingSteps(pending), [
      {
        step: 'order the certificate from the CA',
        activity: 'issueCertificate',
        failedAttempts: 2,
        maximumAttempts: 8,
        error: "certificate authority 'X' (acme): no answer from https://ca.test (ECONNREFUSED)",
        errorType: 'PluginIoError',
        nextAttemptAt: '2026-01-01T00:00:09.000Z',
      },
    ]);
  });

  test('keeps the error on one line and names an unknown activity by its type', () => {
    const [step] = retryingSteps([
      { activityType: { name: 'somethingNew' }, attempt: 2, lastFailure: failure('first line\n  second line', 'Error') },
    ]);
    assert.equal(step.step, 'somethingNew');
    assert.equal(step.error, 'first line; second line');
    assert.equal(step.maximumAttempts, 0);
    assert.equal(step.nextAttemptAt, undefined);
  });
});

describe('describeRetry', () => {
  const base = { step: 'deploy', activity: 'deployToServer', failedAttempts: 2, maximumAttempts: 3, error: 'ssh:h: cannot connect' };

  test('says how many attempts failed, of how many, and when the next one comes', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(
      describeRetry({ ...base, nextAttemptAt: '2026-01-01T00:00:03.500Z' }, now),
      'deploy: attempt 2 of 3 failed, next in 4 s: ssh:h: cannot connect',
    );
  });

  test('says when an attempt is running, and leaves out the limit when there is none', () => {
    assert.equal(describeRetry({ ...base, maximumAttempts: 0 }, 0), 'deploy: attempt 2 failed, attempt 3 running: ssh:h: cannot connect');
  });
});
