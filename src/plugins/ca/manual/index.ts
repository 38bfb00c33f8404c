// A certificate authority without automation (AutoSSL's base CaManager): the renewal stops once the key and CSR
// are made, and a person orders the certificate and delivers it.
import { ManualCaError } from '../../errors';
import type { CaFactory } from '../../types';

export const createManualCa: CaFactory = (spec) => ({
  async issue() {
    throw new ManualCaError(
      `certificate authority '${spec.name}'`,
      `has no automation: a person must order the certificate from ${spec.name} with the CSR and deliver it (autossl deploy)`,
    );
  },
  async close() {},
});
