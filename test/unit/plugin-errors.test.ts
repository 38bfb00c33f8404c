import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PluginConfigError, PluginIoError, fsError } from '../../src/plugins/errors';

const errno = (code: string) => Object.assign(new Error(`${code}: what node says, with a path`), { code });

describe('fsError', () => {
  test('says a full disk in words, keeps the code, and is retryable', () => {
    const err = fsError('local:/srv/web', 'cannot write /srv/web/site.key', errno('ENOSPC'));
    assert.ok(err instanceof PluginIoError);
    assert.equal(err.retryable, true);
    assert.equal(err.message, 'local:/srv/web: cannot write /srv/web/site.key: no space left on device (ENOSPC)');
    assert.equal(err.code, 'ENOSPC');
  });

  test('words other I/O failures the way the system does', () => {
    assert.equal(fsError('s', 'cannot write f', errno('EACCES')).detail, 'cannot write f: permission denied (EACCES)');
    assert.equal(fsError('s', 'cannot write f', errno('EROFS')).detail, 'cannot write f: read-only file system (EROFS)');
  });

  test('keeps a code the system does not know, and the action alone without a code', () => {
    assert.equal(fsError('s', 'cannot write f', errno('ESOMETHING')).detail, 'cannot write f (ESOMETHING)');
    assert.equal(fsError('s', 'cannot write f', new Error('odd')).detail, 'cannot write f');
  });

  test('a path of the wrong kind is a configuration problem, not retried', () => {
    const err = fsError('s', 'cannot write f', errno('EISDIR'));
    assert.ok(err instanceof PluginConfigError);
    assert.equal(err.detail, 'cannot write f (EISDIR): a folder stands where a file is expected');
  });

  test('passes a plugin error through', () => {
    const original = new PluginIoError('s', 'already typed', undefined);
    assert.equal(fsError('other', 'action', original), original);
  });
});
