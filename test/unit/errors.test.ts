import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { toFailure } from '../../src/activities';
import { NotificationFailed } from '../../src/activities/report';
import { BlueprintError, CredentialError } from '../../src/blueprint/errors';
import { UsageError } from '../../src/client/cli';
import { CycleTimeout, TemporalUnavailable, WorkflowUnanswered } from '../../src/client/temporal';
import { ERROR_CLASSES, NON_RETRYABLE_NAMES, classify, reasonCodeOf, type ClassifiedError } from '../../src/errors';
import { CertificateRejected } from '../../src/inspect/certificate';
import { AcmeProblem, AcmeUnreachable } from '../../src/plugins/ca/acme/transport';
import { RateLimitedError } from '../../src/plugins/ca/rate-limited';
import { WireError } from '../../src/plugins/dns/rfc2136/wire';
import { ManualCaError, PluginConfigError, PluginIoError } from '../../src/plugins/errors';
import { PluginModuleError } from '../../src/catalog/modules';
import { DataDirBusy } from '../../src/worker/data-dir-lock';
import { CertificateError, CsrError, KeyError, X509Error } from '../../src/x509/errors';

const SRC = path.resolve(__dirname, '../../../src');

/** One of every error class, and what a person expects of it: [retryable, the user's input, reason code]. */
const EXPECTED: [ClassifiedError, boolean, boolean, string][] = [
  [new UsageError('--blueprint is required'), false, true, 'usage'],
  [new BlueprintError([{ file: 'b.yaml', line: 3, message: 'unknown key' }]), false, true, 'blueprint'],
  [new CredentialError('git', "credential 'git' has no password"), false, true, 'credential'],
  [new PluginConfigError('local:/srv', 'a file stands where a folder is expected'), false, true, 'config'],
  [new PluginModuleError('plugin module ./x.js not found'), true, true, 'plugin-module'],
  [new X509Error('validity must be positive'), false, true, 'x509'],
  [new CertificateError('not PEM'), false, true, 'certificate'],
  [new KeyError('unsupported key'), false, true, 'private-key'],
  [new CsrError('bad signature'), false, true, 'csr'],
  [new CertificateRejected('does not match the private key'), false, true, 'certificate-rejected'],
  [new ManualCaError('manual CA', 'a person issues this certificate'), false, false, 'manual-ca'],
  [new PluginIoError('local:/srv', 'no space left on device (ENOSPC)', 'ENOSPC'), true, false, 'io'],
  [new RateLimitedError('ca', 'rate limited', 120_000), true, false, 'rate-limited'],
  [new AcmeProblem('serverInternal', 500, 'oops', undefined), true, false, 'ca-error'],
  [new AcmeUnreachable('https://ca.test/dir', 'ECONNREFUSED'), true, false, 'ca-unreachable'],
  [new WireError('bad label in name'), true, false, 'dns-message'],
  [new NotificationFailed('webhook https://hooks.test: HTTP 502'), true, false, 'notification'],
  [new TemporalUnavailable('no Temporal server at 127.0.0.1:7233'), true, true, 'temporal-unavailable'],
  [new WorkflowUnanswered('no worker polls task queue autossl'), true, false, 'no-worker'],
  [new CycleTimeout('not finished after 60 s'), true, false, 'cycle-timeout'],
  [new DataDirBusy('data dir in use', { pid: 1, command: 'server', since: '2026-01-01T00:00:00Z' }), true, false, 'data-dir-busy'],
];

describe('error classification', () => {
  it('says of every error class whether a retry can fix it, whether the input is at fault, and why', () => {
    for (const [err, retryable, input, reasonCode] of EXPECTED) {
      assert.deepEqual(
        { name: err.name, retryable: err.retryable, input: err.input, reasonCode: err.reasonCode },
        { name: err.name, retryable, input, reasonCode },
      );
      assert.ok(err instanceof Error);
    }
    assert.deepEqual(EXPECTED.map(([e]) => e.name).sort(), Object.keys(ERROR_CLASSES).sort(), 'a class for every row, a row for every class');
  });

  it('is the base of every error class in the code', () => {
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== 'errors.ts');
    const unclassified = files.filter((f) => /\bextends (Error|TypeError|RangeError)\b/.test(readFileSync(path.join(SRC, f), 'utf8')));
    assert.deepEqual(unclassified, []);
  });

  it('lets an instance be more precise: a CA that refuses is not retried, a plugin may name its reason', () => {
    const refused = new AcmeProblem('rejectedIdentifier', 400, 'not allowed', undefined);
    assert.equal(refused.retryable, false);
    assert.equal(refused.reasonCode, 'ca-refused');
    assert.equal(new AcmeProblem('', 429, 'slow down', 5_000).reasonCode, 'rate-limited');
    assert.equal(new PluginConfigError('ca', 'refused', { reasonCode: 'ca-refused' }).reasonCode, 'ca-refused');
    // Never the other way round: a class listed as not retryable stays so for the retry policies of older runs.
    for (const name of NON_RETRYABLE_NAMES) assert.equal(ERROR_CLASSES[name].retryable, false);
  });

  it('classifies an error of another copy of the classes by name, anything else as internal and retryable', () => {
    const foreign = Object.assign(new Error('from an in-house plugin'), { name: 'PluginConfigError' });
    assert.deepEqual(classify(foreign), ERROR_CLASSES.PluginConfigError);
    assert.deepEqual(classify(new TypeError('x is undefined')), { retryable: true, input: false, reasonCode: 'internal' });
    assert.equal(classify('a string').reasonCode, 'internal');
  });

  it('reads the reason code of a failure from its details, else from its type', () => {
    assert.equal(reasonCodeOf('PluginConfigError', [{ reasonCode: 'ca-refused' }]), 'ca-refused');
    assert.equal(reasonCodeOf('PluginIoError', undefined), 'io');
    assert.equal(reasonCodeOf('PluginIoError', ['not ours']), 'io');
    assert.equal(reasonCodeOf('SomethingElse', []), 'internal');
  });
});

describe('activity failures', () => {
  it('a config error: not retryable, typed by name, the message and the reason code only', () => {
    const cause = Object.assign(new Error('ENOTDIR: not a directory, open /srv/web/x.crt'), { code: 'ENOTDIR' });
    const err = new PluginConfigError('local:/srv/web', 'cannot write /srv/web/x.crt (ENOTDIR)', { cause });
    const failure = toFailure(err);
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'PluginConfigError');
    assert.equal(failure.message, err.message);
    assert.equal(failure.nonRetryable, true);
    assert.deepEqual(failure.details, [{ reasonCode: 'config' }]);
    assert.equal(failure.nextRetryDelay, undefined);
    assert.equal(failure.cause, cause);
    assert.equal(failure.name, 'PluginConfigError');
    assert.equal(failure.stack, err.stack, 'where it was thrown');
  });

  it("a rate limit: retried after the CA's wait", () => {
    const failure = toFailure(new RateLimitedError('ca', 'rate limited: too many orders', 120_000));
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'RateLimited');
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.nextRetryDelay, 120_000);
    assert.deepEqual(failure.details, [{ reasonCode: 'rate-limited' }]);
  });

  it('anything else: retried, internal; failures Temporal made pass as they are', () => {
    const failure = toFailure(new TypeError('x is undefined'));
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'TypeError');
    assert.equal(failure.nonRetryable, false);
    assert.deepEqual(failure.details, [{ reasonCode: 'internal' }]);
    const cancelled = new CancelledFailure('cancelled');
    assert.equal(toFailure(cancelled), cancelled);
  });
});
