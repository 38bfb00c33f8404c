// A webhook receiver on loopback for notification tests: records every JSON body POSTed to it.
//
//   const hook = await startWebhook();
//   ... blueprint with notify: { webhook: { url: hook.url } }
//   const event = await hook.next((b) => b.event === 'failure');
//   await hook.stop();
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Notification {
  certificate: string;
  event: string;
  state: string;
  reason: string;
  serial?: string;
  notAfter?: string;
  /** While a manual CA's certificate is awaited: where storage keeps the CSR. */
  csrLocation?: string;
  servers: { id: string; label: string; state: string; error?: string }[];
  /** In a failure: the steps that failed and their reason codes. */
  failed?: { step: string; reasonCode: string }[];
  workflowId: string;
  at: string;
}

export interface Received {
  body: Notification;
  headers: http.IncomingHttpHeaders;
}

export interface Webhook {
  url: string;
  received: Received[];
  /** The first request (in arrival order) matching `match`, waiting for it up to `timeoutMs`. */
  next(match: (body: Notification) => boolean, timeoutMs?: number): Promise<Received>;
  stop(): Promise<void>;
}

export async function startWebhook(): Promise<Webhook> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      received.push({ body: JSON.parse(text) as Notification, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    async next(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find((r) => match(r.body));
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no matching notification within ${timeoutMs} ms; got: ${JSON.stringify(received.map((r) => [r.body.event, r.body.reason]))}`,
          );
        }
        await sleep(100);
      }
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
