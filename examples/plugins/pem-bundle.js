// An in-house server plugin, as a team writes one for a system autossl does not know: it keeps the key, the
// certificate and its chain in one PEM file per certificate (what HAProxy-like proxies load).
// A blueprint names it by path, relative to the blueprint file:
//
//   servers:
//     - type: ./plugins/pem-bundle.js#server
//       parameters: { folder: /etc/proxy/certs }
//
// autossl validates `parameters` against the specs below when it loads the blueprint (file and line for every
// mistake) and calls `create` on the worker with the checked spec. See README, "Adding a plugin".
'use strict';
const fs = require('node:fs/promises');
const path = require('node:path');

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----\n?/g;

exports.server = {
  category: 'server',
  name: 'pem-bundle',
  description: 'Key, certificate and chain in one PEM file <folder>/<crt_name>.pem.',
  parameters: {
    folder: { type: 'string', required: true, expandEnv: true, description: 'Folder receiving <crt_name>.pem.' },
    crt_name: { type: 'string', description: 'File stem (default: the blueprint name).' },
  },
  create(spec) {
    const file = path.join(spec.parameters.folder, `${spec.crtName}.pem`);
    return {
      spec,
      describe: () => `pem-bundle:${file}`,
      async readCurrent() {
        const text = await fs.readFile(file, 'utf8').catch((err) => {
          if (err.code === 'ENOENT') return null;
          throw err;
        });
        if (text === null) return null;
        const blocks = text.match(PEM_BLOCK) ?? [];
        const key = blocks.find((b) => b.includes('PRIVATE KEY')) ?? null;
        return { certificate: blocks.filter((b) => b.includes('BEGIN CERTIFICATE')).join(''), key };
      },
      // Written to a temporary file and renamed: a proxy reloading at that moment sees the old or the new bundle.
      async deploy({ key, certificate, chain }) {
        await fs.mkdir(spec.parameters.folder, { recursive: true });
        const temporary = `${file}.${process.pid}.tmp`;
        await fs.writeFile(temporary, [key, certificate, ...chain].join(''), { mode: 0o600 });
        await fs.rename(temporary, file);
      },
      close: async () => {},
    };
  },
};
