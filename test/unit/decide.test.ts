import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertificateFacts, Inspection, ReportedFacts, ServerCertificateFacts } from '../../src/inspect/facts';
import { decide, renewalTime, windowRenewalTime } from '../../src/workflows/decide';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function cert(days: number, overrides: Partial<CertificateFacts> = {}): CertificateFacts {
  return {
    serial: `S${days}`,
    issuer: 'CA',
    notBefore: new Date(T0).toISOString(),
    notAfter: new Date(T0 + days * DAY).toISOString(),
    domains: ['a.test'],
    coverage: { ok: true, missing: [], extra: [] },
    keyMatches: true,
    chain: null,
    ...overrides,
  };
}

function inspection(stored: CertificateFacts | null, servers: (ServerCertificateFacts | null | Error)[]): Inspection {
  return {
    at: new Date(T0).toISOString(),
    stored,
    servers: servers.map((c, i) =>
      c instanceof Error ? { id: `s${i}`, label: `s${i}`, certificate: null, error: c.message } : { id: `s${i}`, label: `s${i}`, certificate: c },
    ),
  };
}

describe('renewal time', () => {
  it('is renewal_delay days before expiry', () => {
    assert.equal(renewalTime(new Date(T0).toISOString(), new Date(T0 + 90 * DAY).toISOString(), 30), T0 + 60 * DAY);
  });
  it('keeps a third of the lifetime when the delay is longer than a short certificate lives', () => {
    assert.equal(renewalTime(new Date(T0).toISOString(), new Date(T0 + 30 * DAY).toISOString(), 30), T0 + 20 * DAY);
  });
  it('treats a delay equal to a back-dated validity as longer than the lifetime', () => {
    const start = T0 - 5 * 60_000;
    assert.equal(renewalTime(new Date(start).toISOString(), new Date(T0 + 90 * DAY).toISOString(), 90), T0 + 90 * DAY - (90 * DAY + 5 * 60_000) / 3);
  });
  it('keeps half of the lifetime for certificates of 10 days or less', () => {
    assert.equal(renewalTime(new Date(T0).toISOString(), new Date(T0 + 6 * DAY).toISOString(), 30), T0 + 3 * DAY);
  });
});

describe('decide', () => {
  const opts = (now: number, extra = {}) => ({ renewalDelayDays: 30, now, ...extra });

  it('renews when nothing is stored, and then deploys everywhere', () => {
    const d = decide(inspection(null, [null, cert(90)]), opts(T0));
    assert.equal(d.renew, true);
    assert.deepEqual(d.renewReasons, ['no stored certificate']);
    assert.deepEqual(d.deployTo, ['s0', 's1']);
  });

  it('does not renew a good certificate before its renewal time, and renews at it', () => {
    const i = inspection(cert(90), [cert(90), cert(90)]);
    const before = decide(i, opts(T0 + 60 * DAY - 1));
    assert.equal(before.renew, false);
    assert.deepEqual(before.deployTo, []);
    assert.equal(before.renewAt, new Date(T0 + 60 * DAY).toISOString());
    const at = decide(i, opts(T0 + 60 * DAY));
    assert.equal(at.renew, true);
    assert.match(at.renewReasons[0], /within 30 day/);
  });

  it('renews when the stored certificate misses a blueprint domain or its key', () => {
    const missing = decide(inspection(cert(90, { coverage: { ok: false, missing: ['b.test'], extra: [] } }), []), opts(T0));
    assert.deepEqual(missing.renewReasons, ['stored certificate does not cover b.test']);
    const key = decide(inspection(cert(90, { keyMatches: false }), []), opts(T0));
    assert.match(key.renewReasons[0], /private key does not match/);
  });

  it('renews when forced', () => {
    const d = decide(inspection(cert(90), [cert(90)]), opts(T0, { force: true }));
    assert.deepEqual(d.renewReasons, ['renewal forced']);
    assert.deepEqual(d.deployTo, ['s0']);
  });

  it('deploys only to servers that are out of date, each with its reason', () => {
    const d = decide(
      inspection(cert(90), [
        cert(90),
        null,
        cert(40, { serial: 'OLD' }),
        cert(90, { keyMatches: false }),
        new Error('connection refused'),
        cert(120, { serial: 'NEWER' }),
      ]),
      opts(T0),
    );
    assert.equal(d.renew, false);
    assert.deepEqual(d.deployTo, ['s1', 's2', 's3', 's4']);
    assert.deepEqual(
      d.servers.map((s) => s.reasons),
      [
        [],
        ['no certificate deployed'],
        [`expires on ${new Date(T0 + 40 * DAY).toISOString()}, before the stored certificate (${new Date(T0 + 90 * DAY).toISOString()})`],
        ['private key does not match the certificate'],
        ['could not be read: connection refused'],
        [],
      ],
    );
  });

  it('with allServers deploys to every server even when up to date', () => {
    assert.deepEqual(decide(inspection(cert(90), [cert(90), cert(90)]), opts(T0, { allServers: true })).deployTo, ['s0', 's1']);
  });
});

describe('renewal window from the CA (ACME Renewal Information)', () => {
  const window = { start: new Date(T0 + 50 * DAY).toISOString(), end: new Date(T0 + 52 * DAY).toISOString() };

  it('picks a point inside the window, the same one every time for a certificate', () => {
    const at = windowRenewalTime('01AB', window);
    assert.ok(at >= Date.parse(window.start) && at < Date.parse(window.end));
    assert.equal(windowRenewalTime('01AB', window), at);
  });

  it('spreads certificates over the window', () => {
    const points = new Set(Array.from({ length: 50 }, (_, i) => windowRenewalTime(`SERIAL${i}`, window)));
    assert.ok(points.size > 45, `only ${points.size} distinct points for 50 serials`);
    const span = Date.parse(window.end) - Date.parse(window.start);
    const fractions = [...points].map((p) => (p - Date.parse(window.start)) / span);
    assert.ok(Math.min(...fractions) < 0.25 && Math.max(...fractions) > 0.75, 'points cover the window');
  });

  it('wins over renewal_delay, both earlier and later', () => {
    const stored = cert(90, { renewalWindow: window });
    const at = windowRenewalTime(stored.serial, window);
    const d = decide(inspection(stored, []), { renewalDelayDays: 30, now: T0 + 65 * DAY });
    assert.equal(d.renewAt, new Date(at).toISOString());
    assert.equal(d.renew, true);
    assert.match(d.renewReasons.join(), /renewal information/);
    // Before the point, nothing is due even though renewal_delay would say so.
    const late = { start: new Date(T0 + 70 * DAY).toISOString(), end: new Date(T0 + 75 * DAY).toISOString() };
    const early = decide(inspection(cert(90, { renewalWindow: late }), []), { renewalDelayDays: 30, now: T0 + 65 * DAY });
    assert.equal(early.renew, false);
    assert.ok(Date.parse(early.renewAt!) >= T0 + 70 * DAY);
  });

  it('renews at once when the CA moved the window into the past (e.g. before a revocation)', () => {
    const past = { start: new Date(T0 + 1 * DAY).toISOString(), end: new Date(T0 + 2 * DAY).toISOString() };
    const d = decide(inspection(cert(90, { renewalWindow: past }), []), { renewalDelayDays: 30, now: T0 + 10 * DAY });
    assert.equal(d.renew, true);
  });

  it('ignores a window that opens only after expiry', () => {
    const bogus = { start: new Date(T0 + 95 * DAY).toISOString(), end: new Date(T0 + 96 * DAY).toISOString() };
    const d = decide(inspection(cert(90, { renewalWindow: bogus }), []), { renewalDelayDays: 30, now: T0 });
    assert.equal(d.renewAt, new Date(T0 + 60 * DAY).toISOString());
  });
});

describe('a server that only reports its certificate (Incapsula)', () => {
  const opts = { renewalDelayDays: 30, now: T0 + DAY };
  const reported = (days: number, missing: string[] = []): ReportedFacts => ({
    reported: true,
    serial: null,
    issuer: null,
    notBefore: null,
    notAfter: new Date(T0 + days * DAY).toISOString(),
    domains: ['a.test'],
    coverage: { ok: missing.length === 0, missing, extra: [] },
    keyMatches: null,
    chain: null,
  });

  it('is up to date when it expires with the stored certificate or later, with no key to match', () => {
    const d = decide(inspection(cert(90), [reported(90), reported(120)]), opts);
    assert.deepEqual(
      d.servers.map((s) => [s.upToDate, s.reasons]),
      [
        [true, []],
        [true, []],
      ],
    );
    assert.deepEqual(d.deployTo, []);
  });

  it('is out of date when it expires before the stored certificate, or has expired', () => {
    const d = decide(inspection(cert(90), [reported(60), reported(0)]), opts);
    assert.deepEqual(d.servers[0].reasons, [`expires on ${reported(60).notAfter}, before the stored certificate (${cert(90).notAfter})`]);
    assert.deepEqual(d.servers[1].reasons, [`certificate expired on ${reported(0).notAfter}`]);
    assert.deepEqual(d.deployTo, ['s0', 's1']);
  });

  it("says so when the site's domain is not among the blueprint's", () => {
    const d = decide(inspection(cert(90), [reported(90, ['other.test'])]), opts);
    assert.deepEqual(d.servers[0].reasons, ["serves other.test, which the blueprint's domains do not cover"]);
  });
});
