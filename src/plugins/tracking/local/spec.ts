import { definePlugin } from '../../types';

export default definePlugin({
  category: 'tracking',
  name: 'local',
  aliases: ['autossl.tracking.local.LocalFileTracking'],
  description: 'A JSON-lines log per certificate, fed from the workflow history.',
  parameters: {
    log_folder: { type: 'string', required: true, expandEnv: true, description: 'Folder receiving <name>.log.' },
  },
  load: () => (require('.') as typeof import('.')).createLocalTracking,
});
