import { definePlugin } from '../../types';

export default definePlugin({
  category: 'storage',
  name: 'local',
  aliases: ['autossl.storage.local.LocalFileStorage'],
  description: 'Artifacts as files in a local folder.',
  parameters: {
    path: { type: 'string', required: true, expandEnv: true, description: 'Folder holding <name>.key, .csr, .crt, .yaml.' },
  },
  load: () => (require('.') as typeof import('.')).createLocalStorage,
});
