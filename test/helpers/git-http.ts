// Git's smart HTTP protocol on loopback for tests: `git http-backend` (CGI) behind a node HTTP server that asks
// for Basic authentication, so a client has to send the right user name and password to fetch or push.
//
//   const server = await startGitHttp({ projectRoot, username: 'bot', password: 'p@ss:w/rd%' });
//   server.urlOf('repo.git')        // http://127.0.0.1:<port>/repo.git
//   server.requests                 // every request: method, path, and whether it was authorised
//   await server.stop();
//   await startGitHttp({ ..., port: server.port })    // the remote back, at the same URLs
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface GitHttpServer {
  port: number;
  urlOf(repo: string): string;
  requests: { method: string; path: string; authorised: boolean }[];
  stop(): Promise<void>;
}

export async function startGitHttp(opts: { projectRoot: string; username: string; password: string; port?: number }): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  const requests: GitHttpServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const authorised = req.headers.authorization === expected;
    requests.push({ method: req.method ?? '', path: url.pathname, authorised });
    if (!authorised) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: opts.projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        REQUEST_METHOD: req.method,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: opts.username,
        REMOTE_ADDR: '127.0.0.1',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const out: Buffer[] = [];
    cgi.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    req.pipe(cgi.stdin);
    cgi.on('close', () => {
      const all = Buffer.concat(out);
      let end = all.indexOf('\r\n\r\n');
      let gap = 4;
      if (end < 0) [end, gap] = [all.indexOf('\n\n'), 2];
      const headers: Record<string, string> = {};
      for (const line of all.subarray(0, Math.max(end, 0)).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(/^\d+/.exec(headers.status ?? '')?.[0] ?? 200);
      delete headers.status;
      res.writeHead(status, headers).end(all.subarray(end + gap));
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    urlOf: (repo) => `http://127.0.0.1:${port}/${repo}`,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Keeps the machine's and the user's git (and ssh) configuration out of git run by this process: a home of its
 * own under `dir`, and the worker's working clones under `dir/data`.
 */
export async function isolateGit(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'home'));
  Object.assign(process.env, {
    HOME: path.join(dir, 'home'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(dir, 'home', '.gitconfig'),
    AUTOSSL_DATA_DIR: path.join(dir, 'data'),
  });
}
