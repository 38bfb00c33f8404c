// The lifecycle's pure rules, without a workflow: wake-ups, failure reminders, expiry warnings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertificateFacts } from '../../src/inspect/facts';
import { expiryWarning, failedSteps, failureBackoff, failureKey, failureWorthTelling, nextWake, nextWarningAt } from '../../src/workflows/rules';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-12-02T12:00:00Z');
const stored = (notAfter: number) => ({ serial: '0A', notAfter: new Date(notAfter).toISOString() }) as CertificateFacts;

describe('lifecycle rules', () => {
  it('backs off a minute, doubling, capped by 6 h and by the check interval', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => failureBackoff(n, DAY)),
      [MIN, 2 * MIN, 4 * MIN, 8 * MIN],
    );
    assert.equal(failureBackoff(0, DAY), MIN, 'a first failure counts as one');
    assert.equal(failureBackoff(20, DAY), 6 * HOUR);
    assert.equal(failureBackoff(20, HOUR), HOUR);
  });

  it('wakes for the earliest reason, a specific one winning a tie with the periodic check', () => {
    const base = { now: NOW, checkIntervalMs: HOUR, failingServers: [] };
    assert.deepEqual(nextWake(base), { at: NOW + HOUR, why: 'periodic drift check' });
    assert.deepEqual(nextWake({ ...base, renewAt: new Date(NOW + 10 * MIN).toISOString() }), { at: NOW + 10 * MIN, why: 'renewal due' });
    assert.deepEqual(nextWake({ ...base, renewAt: new Date(NOW + HOUR).toISOString() }).why, 'renewal due');
    assert.deepEqual(nextWake({ ...base, failingServers: [{ label: 'local:/a', failures: 3 }] }), { at: NOW + 4 * MIN, why: 'retry local:/a' });
    assert.deepEqual(nextWake({ ...base, renewalFailures: 1 }), { at: NOW + MIN, why: 'retry after failure' });
    assert.deepEqual(nextWake({ ...base, renewAt: new Date(NOW - DAY).toISOString() }), { at: NOW, why: 'renewal due' }, 'never in the past');
  });

  it('tells a failure once, again when its reason changes or the reminder interval passed, always with a notice', () => {
    const previous = { at: new Date(NOW - HOUR).toISOString(), reason: 'CA unreachable' };
    assert.equal(failureWorthTelling(undefined, 'CA unreachable', NOW, DAY, false), true);
    assert.equal(failureWorthTelling(previous, 'CA unreachable', NOW, DAY, false), false);
    assert.equal(failureWorthTelling(previous, 'CA refused the order', NOW, DAY, false), true);
    assert.equal(failureWorthTelling(previous, 'CA unreachable', NOW, HOUR, false), true);
    assert.equal(failureWorthTelling(previous, 'CA unreachable', NOW, DAY, true), true);
  });

  it('tells a failure again when its steps or reason codes change, not its wording', () => {
    const ordering = failureKey([{ step: 'issueCertificate', reasonCode: 'ca-unreachable' }]);
    const previous = { at: new Date(NOW - HOUR).toISOString(), reason: 'no answer from https://ca.test:14000', key: ordering };
    assert.equal(failureWorthTelling(previous, 'no answer from https://ca.test:14001', NOW, DAY, false, ordering), false, 'same step, same code');
    const limited = failureKey([{ step: 'issueCertificate', reasonCode: 'rate-limited' }]);
    assert.equal(failureWorthTelling(previous, 'no answer from https://ca.test:14000', NOW, DAY, false, limited), true, 'another code');
    assert.equal(failureWorthTelling(previous, 'no answer', NOW, HOUR, false, ordering), true, 'reminder interval passed');
    assert.equal(failureWorthTelling(previous, 'no answer', NOW, DAY, true, ordering), true, 'a notice');
    // Told by code that kept no key: the wording decides.
    const unkeyed = { at: previous.at, reason: 'disk full' };
    assert.equal(failureWorthTelling(unkeyed, 'disk full', NOW, DAY, false, ordering), false);
    assert.equal(failureWorthTelling(unkeyed, 'disk still full', NOW, DAY, false, ordering), true);
  });

  it("keys a cycle's failure by the step that failed it and each failed deploy, in any order", () => {
    const cycle = {
      failure: { step: 'inspect', reasonCode: 'io' },
      failed: [
        { id: 'web-2', label: 'ssh:web-2', error: 'connection refused', reasonCode: 'io' },
        { id: 'web-1', label: 'local:/srv', error: 'not a folder', reasonCode: 'config' },
      ],
    };
    assert.deepEqual(failedSteps(cycle), [
      { step: 'inspect', reasonCode: 'io' },
      { step: 'deployToServer web-2', reasonCode: 'io' },
      { step: 'deployToServer web-1', reasonCode: 'config' },
    ]);
    assert.equal(failureKey(failedSteps(cycle)), 'deployToServer web-1: config; deployToServer web-2: io; inspect: io');
    assert.equal(failureKey(failedSteps({ failed: [...cycle.failed].reverse() })), failureKey(failedSteps({ failed: cycle.failed })));
    // Recorded before deploy failures carried a code.
    assert.deepEqual(failedSteps({ failed: [{ id: 'web-1', label: 'x', error: 'y' }] }), [{ step: 'deployToServer web-1', reasonCode: 'internal' }]);
  });

  it('warns in the last week before expiry, then at expiry, and says when it gets worse', () => {
    assert.equal(expiryWarning(null, NOW), null);
    assert.equal(expiryWarning(stored(NOW + 8 * DAY), NOW), null);
    assert.match(expiryWarning(stored(NOW + 2.5 * DAY), NOW)!, /expires on .*, in 3 day\(s\)$/);
    assert.match(expiryWarning(stored(NOW - MIN), NOW)!, /^the current certificate 0A expired on /);
    assert.equal(nextWarningAt(stored(NOW + 8 * DAY), NOW), NOW + DAY);
    assert.equal(nextWarningAt(stored(NOW + 2 * DAY), NOW), NOW + 2 * DAY);
    assert.equal(nextWarningAt(stored(NOW - MIN), NOW), null);
  });
});
