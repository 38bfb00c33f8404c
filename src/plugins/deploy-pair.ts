// The pair a server deploys, assembled once for every server kind (the full chain's text included).
import { joinPem } from '../x509';
import type { DeployPair } from './types';

export const deployPair = (pair: { key: string; certificate: string; chain: string[] }): DeployPair => ({
  ...pair,
  fullChain: joinPem([pair.certificate, ...pair.chain]),
});
