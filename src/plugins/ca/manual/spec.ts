import { definePlugin } from '../../types';

export default definePlugin({
  category: 'ca',
  name: 'manual',
  aliases: ['autossl.ca_manager.base.CaManager'],
  description: 'A CA with no automation: a person orders the certificate and delivers it.',
  parameters: {},
  capabilities: { awaitsPerson: true },
  load: () => (require('.') as typeof import('.')).createManualCa,
});
