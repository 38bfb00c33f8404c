// The DNS codec on inputs a real server does not send in the integration tests: long TXT values, and broken or
// hostile answers, which must end in a WireError (never a hang or a read past the message).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeMessage,
  encodeName,
  readTxt,
  signMessage,
  txtData,
  verifyResponse,
  WireError,
  type TsigKey,
} from '../../src/plugins/dns/rfc2136/wire';

/** A response header with the given counts, then `body`. */
const response = (counts: [number, number, number, number], body: number[]): Buffer =>
  Buffer.from([0x12, 0x34, 0x84, 0x00, ...counts.flatMap((c) => [0, c]), ...body]);

describe('DNS wire format', () => {
  it('cuts TXT values into 255-byte strings and joins them back', () => {
    const value = 'x'.repeat(600);
    const data = txtData(value);
    assert.deepEqual([data[0], data[256], data[512]], [255, 255, 90]);
    assert.equal(readTxt(data), value);
    assert.deepEqual(txtData(''), Buffer.from([0]));
  });

  it('writes names lower case and uncompressed, and refuses empty or long labels', () => {
    assert.deepEqual(encodeName('A.Example.'), Buffer.from([1, 0x61, 7, ...Buffer.from('example'), 0]));
    assert.deepEqual(encodeName('.'), Buffer.from([0]));
    assert.throws(() => encodeName('a..b'), WireError);
    assert.throws(() => encodeName(`${'a'.repeat(64)}.test`), WireError);
  });

  it('reads a compressed owner name', () => {
    // Question example.test SOA IN, then an answer whose owner points back at the question name.
    const question = [...encodeName('example.test'), 0, 6, 0, 1];
    const answer = [0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 3, 2, 0x68, 0x69];
    const message = decodeMessage(response([1, 1, 0, 0], [...question, ...answer]));
    assert.deepEqual([message.answers[0].name, message.answers[0].type, readTxt(message.answers[0].data)], ['example.test', 16, 'hi']);
  });

  it('refuses compression loops, overruns and short messages', () => {
    const loop = [0xc0, 12, 0, 16, 0, 1];
    assert.throws(() => decodeMessage(response([1, 0, 0, 0], loop)), /compression loop/);
    assert.throws(() => decodeMessage(response([0, 1, 0, 0], [0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 200, 1])), /data overruns/);
    assert.throws(() => decodeMessage(response([0, 1, 0, 0], [5, 0x61])), WireError);
    assert.throws(() => decodeMessage(Buffer.from([0, 1, 2])), /shorter than a header/);
  });

  it('calls an answer without a TSIG record unsigned', () => {
    const key: TsigKey = { name: 'k', algorithm: 'hmac-sha256', secret: Buffer.from('secret') };
    const { mac } = signMessage(response([0, 0, 0, 0], []), key);
    const raw = response([0, 0, 0, 0], []);
    assert.deepEqual(verifyResponse(raw, decodeMessage(raw), mac, key), { ok: false, problem: 'unsigned', error: 0 });
  });
});
