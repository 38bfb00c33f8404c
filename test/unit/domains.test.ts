import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coverage, isValidDomain, nameMatches, normalizeDomain } from '../../src/x509';

describe('normalizeDomain', () => {
  it('lower-cases and drops a trailing dot', () => {
    assert.equal(normalizeDomain('WWW.Example.COM.'), 'www.example.com');
    assert.equal(normalizeDomain('*.Example.com'), '*.example.com');
  });

  it('turns an IDN into punycode, and leaves punycode as it is', () => {
    assert.equal(normalizeDomain('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeDomain('BÜCHER.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeDomain('xn--bcher-kva.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeDomain('*.bücher.example'), '*.xn--bcher-kva.example');
  });

  it('rejects names that are not host names', () => {
    const tooLongLabel = `${'a'.repeat(64)}.com`;
    const tooLongName = `${'a.'.repeat(127)}com`;
    const wildcards = ['a*.b.com', '*a.b.com', 'x.*.b.com', '*.*.b.com', '*', '*.'];
    for (const bad of ['', '.', '-a.com', 'a-.com', 'a..com', 'a_b.com', 'a com', ...wildcards, tooLongLabel, tooLongName]) {
      assert.equal(normalizeDomain(bad), null, bad);
      assert.equal(isValidDomain(bad), false, bad);
    }
  });

  it('accepts a 63-character label, digits, inner hyphens and single-label names', () => {
    assert.equal(normalizeDomain(`${'a'.repeat(63)}.com`), `${'a'.repeat(63)}.com`);
    assert.equal(normalizeDomain('1-2.example'), '1-2.example');
    assert.equal(normalizeDomain('localhost'), 'localhost');
  });

  // Decision: a wildcard must stand above at least two labels. `*.com` would cover every .com host; CAs refuse it
  // and clients ignore it, so a blueprint asking for it is a mistake to report, not a name to request.
  it('rejects a wildcard directly over a top-level domain', () => {
    assert.equal(normalizeDomain('*.com'), null);
    assert.equal(normalizeDomain('*.example.com'), '*.example.com');
  });
});

describe('nameMatches (RFC 6125 wildcards)', () => {
  it('lets a wildcard stand for exactly one left-most label', () => {
    assert.equal(nameMatches('*.a.com', 'x.a.com'), true);
    assert.equal(nameMatches('*.a.com', 'x.y.a.com'), false);
    assert.equal(nameMatches('*.a.com', 'a.com'), false);
    assert.equal(nameMatches('*.a.com', 'x.b.com'), false);
  });

  it('matches exact names, and does not let a wanted wildcard be covered by a single host', () => {
    assert.equal(nameMatches('a.com', 'a.com'), true);
    assert.equal(nameMatches('x.a.com', '*.a.com'), false);
    assert.equal(nameMatches('*.a.com', '*.a.com'), true);
  });
});

describe('coverage', () => {
  it('is case-insensitive and compares IDNs as punycode', () => {
    assert.deepEqual(coverage(['XN--BCHER-KVA.example', 'WWW.A.COM'], ['bücher.example', 'www.a.com'], false), {
      ok: true,
      missing: [],
      extra: [],
    });
  });

  it('lets a wildcard cover one level only', () => {
    const c = coverage(['*.a.com'], ['x.a.com', 'x.y.a.com', 'a.com'], false);
    assert.equal(c.ok, false);
    assert.deepEqual(c.missing, ['x.y.a.com', 'a.com']);
  });

  it('reports extra names without failing when exact match is off', () => {
    const c = coverage(['a.com', 'b.com'], ['a.com'], false);
    assert.deepEqual(c, { ok: true, missing: [], extra: ['b.com'] });
  });

  it('with exact match, a wildcard does not stand for a named domain', () => {
    const c = coverage(['*.a.com'], ['x.a.com'], true);
    assert.deepEqual(c, { ok: false, missing: ['x.a.com'], extra: ['*.a.com'] });
    assert.equal(coverage(['*.a.com'], ['*.a.com'], true).ok, true);
  });

  it('with exact match, an extra name in the certificate fails', () => {
    const c = coverage(['a.com', 'old.a.com'], ['a.com'], true);
    assert.deepEqual(c, { ok: false, missing: [], extra: ['old.a.com'] });
  });

  it('ignores names in the certificate that are not host names', () => {
    assert.deepEqual(coverage(['a.com', 'not a name'], ['a.com'], true), { ok: true, missing: [], extra: [] });
  });
});
