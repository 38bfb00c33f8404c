// AutoSSL's LocalFileTracking: a JSON-lines log `<log_folder>/<name>.log` per certificate.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fsError } from '../../errors';
import type { TrackingFactory } from '../../types';

export const createLocalTracking: TrackingFactory = (spec) => {
  const folder = String(spec.parameters.log_folder);
  const subject = `tracking local:${folder}`;
  return {
    async record(entry) {
      const file = path.join(folder, `${entry.certificate}.log`);
      try {
        await fs.mkdir(folder, { recursive: true });
        await fs.appendFile(file, `${JSON.stringify(entry)}\n`);
      } catch (err) {
        throw fsError(subject, `cannot append to ${file}`, err);
      }
    },
    close: async () => {},
  };
};
