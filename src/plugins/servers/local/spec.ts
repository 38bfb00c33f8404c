import { definePlugin } from '../../types';
import { SERVER_PARAMETERS } from '../common';

export default definePlugin({
  category: 'server',
  name: 'local',
  aliases: ['autossl.server.local.LocalServer'],
  description: 'Files on the machine running the worker.',
  parameters: {
    ...SERVER_PARAMETERS,
    path: { type: 'string', required: true, expandEnv: true, description: 'Folder receiving <crt_name>.key and <crt_name>.crt.' },
    acme_dir: { type: 'string', expandEnv: true, description: 'Folder served at /.well-known/acme-challenge/ for HTTP-01.' },
  },
  load: () => (require('.') as typeof import('.')).createLocalServer,
});
