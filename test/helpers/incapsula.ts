// A stand-in for the two Imperva (Incapsula) v1 API endpoints the incapsula server plugin uses, on 127.0.0.1 over
// HTTPS with a certificate of its own test CA. It checks every request the way Imperva documents it (POST, the
// path, a form-encoded body, the x-API-Id / x-API-Key headers, the form fields, base64 that decodes to PEM, the
// certificate as the full chain up to a self-signed root, the key matching it) and answers like Imperva: a JSON
// document whose `res` is 0 on success. What it finds wrong it records in `problems` and answers with `res` 2.
//
//   const api = await startIncapsulaStandIn({ credentials: { api_id: '12345', api_key: 'k' } });
//   api.addSite({ siteId: 4711, domain: 'shop.example.test' });      // no custom certificate yet
//   api.failNext(4711, 'upload', 2);                                  // res 3015 twice, then the real answer
//   ... base_url: api.baseUrl, ca_bundle: api.caBundlePath
//   await api.stop();
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { issueLeaf, makeCa } from './pki';

export const STATUS_PATH = '/api/prov/v1/sites/status';
export const UPLOAD_PATH = '/api/prov/v1/sites/customCertificate/upload';

export interface StandInSite {
  siteId: number;
  domain: string;
  /** The active custom certificate: what was uploaded last, or a given expiry. */
  custom?: { expirationDate: number; certificate?: string; privateKey?: string; authType?: string };
}

export interface StandInRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  fields: Record<string, string>;
  res: number;
}

export interface IncapsulaStandIn {
  /** `https://localhost:<port>`: the plugin's base_url. */
  baseUrl: string;
  /** PEM file of the CA of the stand-in's own TLS certificate: the plugin's ca_bundle. */
  caBundlePath: string;
  requests: StandInRequest[];
  /** Requests that broke Imperva's documented rules, one line each; a correct client leaves it empty. */
  problems: string[];
  addSite(site: StandInSite): StandInSite;
  site(siteId: number): StandInSite | undefined;
  /** The next `count` requests to `endpoint` for the site get `res` (3015, Imperva's frequent internal error, by default). */
  failNext(siteId: number, endpoint: 'status' | 'upload', count: number, res?: number, message?: string): void;
  stop(): Promise<void>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const answer = (res: number, res_message: string, extra: Record<string, unknown> = {}) => ({
  ...extra,
  res,
  res_message,
  debug_info: { 'id-info': '13007' },
});

export async function startIncapsulaStandIn(opts: { credentials: { api_id: string; api_key: string } }): Promise<IncapsulaStandIn> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-incapsula-'));
  const tlsCa = await makeCa({ commonName: 'autossl test Incapsula stand-in TLS CA' });
  const tls = await issueLeaf(tlsCa, { domains: ['localhost'] });
  const caBundlePath = path.join(dir, 'tls-ca.pem');
  await fs.writeFile(caBundlePath, tlsCa.certPem);

  const sites = new Map<number, StandInSite>();
  const requests: StandInRequest[] = [];
  const problems: string[] = [];
  /** Scripted answers per site and endpoint, `<siteId> <endpoint>`. */
  const failures = new Map<string, { res: number; message: string }[]>();

  /** Checks an upload as Imperva documents it; returns what is wrong, or the decoded bundle and key. */
  function checkUpload(site: StandInSite, fields: Record<string, string>): string | { certificate: string; privateKey: string } {
    const decoded: Record<string, string> = {};
    for (const name of ['certificate', 'private_key']) {
      const value = fields[name];
      if (value === undefined || value === '') return `no ${name} field`;
      if (!BASE64.test(value)) return `${name} is not base64`;
      decoded[name] = Buffer.from(value, 'base64').toString('utf8');
    }
    const pems = decoded.certificate.match(PEM_CERTIFICATE) ?? [];
    if (pems.length < 2) return `certificate holds ${pems.length} PEM certificate(s); the full chain (leaf, intermediates, root) is required`;
    const certs = pems.map((p) => new X509Certificate(p));
    for (let i = 0; i + 1 < certs.length; i++) {
      if (!certs[i].checkIssued(certs[i + 1]) || !certs[i].verify(certs[i + 1].publicKey))
        return `certificate ${i + 1} of the chain is not issued by certificate ${i + 2}`;
    }
    const root = certs[certs.length - 1];
    if (!root.checkIssued(root) || !root.verify(root.publicKey)) return 'the chain does not end with its root CA';
    if (!/^-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(decoded.private_key.trim())) return 'private_key is not a PEM private key';
    const key = createPrivateKey(decoded.private_key);
    if (!certs[0].checkPrivateKey(key)) return 'private_key does not match the certificate';
    const wanted = key.asymmetricKeyType === 'ec' ? 'ECC' : 'RSA';
    if ((fields.auth_type ?? 'RSA') !== wanted) return `auth_type ${fields.auth_type ?? '(absent: RSA)'} does not fit a ${wanted} key`;
    if (!certs[0].checkHost(site.domain)) return `the certificate does not cover the site's domain ${site.domain}`;
    return { certificate: decoded.certificate, privateKey: decoded.private_key };
  }

  function handle(endpoint: 'status' | 'upload', site: StandInSite, fields: Record<string, string>): { res: number; body: Record<string, unknown> } {
    const scripted = failures.get(`${site.siteId} ${endpoint}`)?.shift();
    if (scripted) return { res: scripted.res, body: answer(scripted.res, scripted.message) };
    if (endpoint === 'upload') {
      const checked = checkUpload(site, fields);
      if (typeof checked === 'string') {
        problems.push(`upload: ${checked}`);
        return { res: 2, body: answer(2, `Invalid input: ${checked}`) };
      }
      const expirationDate = Date.parse(new X509Certificate(checked.certificate.match(PEM_CERTIFICATE)![0]).validTo);
      site.custom = { expirationDate, ...checked, authType: fields.auth_type ?? 'RSA' };
      return { res: 0, body: answer(0, 'OK') };
    }
    const custom = site.custom
      ? {
          active: true,
          expirationDate: site.custom.expirationDate,
          revocationError: false,
          validityError: false,
          chainError: false,
          hostnameMismatchError: false,
        }
      : { active: false };
    const status = {
      site_id: site.siteId,
      statusEnum: 'fully_configured',
      status: 'fully-configured',
      domain: site.domain,
      display_name: site.domain,
      active: 'active',
      ssl: { origin_server: { detected: true, detectionStatus: 'ok' }, custom_certificate: custom, generated_certificate: { san: [] } },
    };
    return { res: 0, body: answer(0, 'OK', status) };
  }

  const server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const reply = (code: number, body: Record<string, unknown>, status = 200) => {
        requests.push({ path: req.url ?? '', headers: req.headers, fields, res: code });
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const endpoint = req.url === STATUS_PATH ? 'status' : req.url === UPLOAD_PATH ? 'upload' : undefined;
      const wrong = (what: string) => {
        problems.push(`${req.method} ${req.url}: ${what}`);
        reply(2, answer(2, `Invalid input: ${what}`), 400);
      };
      if (!endpoint) return wrong('unknown path');
      if (req.method !== 'POST') return wrong('not a POST');
      if (req.headers['content-type']?.split(';')[0].trim() !== 'application/x-www-form-urlencoded')
        return wrong(`content type ${req.headers['content-type']}`);
      // Credentials belong in the headers; never in the form or the URL, where they end up in logs.
      if ('api_key' in fields || 'api_id' in fields) return wrong('credentials in the form');
      if (req.headers['x-api-id'] !== opts.credentials.api_id || req.headers['x-api-key'] !== opts.credentials.api_key) {
        return reply(9411, answer(9411, 'Authentication missing or invalid'));
      }
      if (!/^\d+$/.test(fields.site_id ?? '')) return wrong(`site_id '${fields.site_id ?? ''}' is not numeric`);
      const site = sites.get(Number(fields.site_id));
      if (!site) return reply(9413, answer(9413, 'Unknown/unauthorized site_id', { debug_info: { site_id: fields.site_id } }));
      const { res: code, body } = handle(endpoint, site, fields);
      reply(code, body);
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `https://localhost:${port}`,
    caBundlePath,
    requests,
    problems,
    addSite(site) {
      sites.set(site.siteId, site);
      return site;
    },
    site: (siteId) => sites.get(siteId),
    failNext(siteId, endpoint, count, res = 3015, message = 'Internal error') {
      const queue = failures.get(`${siteId} ${endpoint}`) ?? [];
      for (let i = 0; i < count; i++) queue.push({ res, message });
      failures.set(`${siteId} ${endpoint}`, queue);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
