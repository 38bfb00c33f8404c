// Reads the stored certificate and every server's, and turns them into public facts. Used by the `inspect`
// activity and directly by `autossl check` (which needs no Temporal).
import type { Blueprint } from '../blueprint/types';
import { messageOf } from '../plugins/errors';
import { findPlugin } from '../catalog';
import { openServer, openStorage, pluginContext, using, type PluginEnvironment } from '../catalog/open';
import type { ServerPlugin, StoragePlugin } from '../plugins/types';
import { certificateFacts, reportedFacts } from './certificate';
import type { CertificateFacts, Inspection, RenewalWindow, ServerFacts } from './facts';

async function readStored(blueprint: Blueprint, storage: StoragePlugin, env: PluginEnvironment): Promise<Pick<Inspection, 'stored' | 'storedError'>> {
  if (!storage.stores('crt')) return { stored: null };
  const crt = await storage.get(blueprint.name, 'crt');
  if (crt === null) return { stored: null };
  const key = storage.stores('key') ? await storage.get(blueprint.name, 'key') : null;
  let stored: CertificateFacts;
  try {
    stored = certificateFacts(blueprint, crt, key);
  } catch (err) {
    return { stored: null, storedError: messageOf(err) };
  }
  const renewalWindow = await renewalWindowOf(blueprint, env, crt);
  return { stored: renewalWindow ? { ...stored, renewalWindow } : stored };
}

/** The CA's renewal window for the stored certificate, from CAs that offer one; their code loads only then. */
async function renewalWindowOf(blueprint: Blueprint, env: PluginEnvironment, crt: string): Promise<RenewalWindow | undefined> {
  const ca = blueprint.certificateAuthorities.find((c) => c.key === blueprint.certificate.certificateAuthority);
  const renewalInfo = ca && findPlugin('ca', ca.type)?.capabilities?.renewalInfo;
  return renewalInfo ? renewalInfo()(ca, pluginContext(blueprint, env), crt) : undefined;
}

async function inspectServer(blueprint: Blueprint, id: string, env: PluginEnvironment): Promise<ServerFacts> {
  try {
    return await using(await openServer(blueprint, id, env), (server) => serverFacts(blueprint, id, server));
  } catch (err) {
    return { id, label: id, certificate: null, error: messageOf(err) };
  }
}

/** What an open server holds now; a read that fails is reported in the facts, not thrown. */
export async function serverFacts(blueprint: Blueprint, id: string, server: ServerPlugin): Promise<ServerFacts> {
  const label = server.describe();
  try {
    const current = await server.readCurrent();
    if (current === null) return { id, label, certificate: null };
    if ('reported' in current) return { id, label, certificate: reportedFacts(blueprint, current.reported) };
    return { id, label, certificate: certificateFacts(blueprint, current.certificate, current.key) };
  } catch (err) {
    return { id, label, certificate: null, error: messageOf(err) };
  }
}

export async function inspect(blueprint: Blueprint, env: PluginEnvironment, now = new Date()): Promise<Inspection> {
  const storage = await openStorage(blueprint, env);
  const stored = storage ? await using(storage, (s) => readStored(blueprint, s, env)) : { stored: null };
  const servers = await Promise.all(blueprint.servers.map((s) => inspectServer(blueprint, s.id, env)));
  return { at: now.toISOString(), ...stored, servers };
}
