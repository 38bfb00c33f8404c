// An SFTP subsystem that injects one fault: it runs the real sftp-server and passes every packet through, but
// answers a posix-rename@openssh.com whose new path ends with a given suffix with SSH_FX_FAILURE instead of
// forwarding it. sshd starts it (see sshd.ts) as `node sftp-fault.js <sftp-server> <suffix>`; it speaks SFTP on
// stdin/stdout like sftp-server itself.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

const SSH_FXP_STATUS = 101;
const SSH_FXP_EXTENDED = 200;
const SSH_FX_FAILURE = 4;

/** Calls `onPacket` with each whole SFTP packet (length prefix included) read from `input`. */
function packets(input: Readable, onPacket: (packet: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  input.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      const size = 4 + pending.readUInt32BE(0);
      onPacket(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}

function sshString(buf: Buffer, at: number): { value: Buffer; next: number } {
  const length = buf.readUInt32BE(at);
  return { value: buf.subarray(at + 4, at + 4 + length), next: at + 4 + length };
}

/** The request id of a posix-rename to a path ending with `suffix`, else undefined. */
function faultyRename(packet: Buffer, suffix: string): number | undefined {
  if (packet[4] !== SSH_FXP_EXTENDED) return undefined;
  const id = packet.readUInt32BE(5);
  const name = sshString(packet, 9);
  if (name.value.toString() !== 'posix-rename@openssh.com') return undefined;
  const newPath = sshString(packet, sshString(packet, name.next).next).value.toString();
  return newPath.endsWith(suffix) ? id : undefined;
}

function failure(id: number): Buffer {
  const message = Buffer.from('injected failure');
  const body = Buffer.alloc(1 + 4 + 4 + 4 + message.length + 4);
  body[0] = SSH_FXP_STATUS;
  body.writeUInt32BE(id, 1);
  body.writeUInt32BE(SSH_FX_FAILURE, 5);
  body.writeUInt32BE(message.length, 9);
  message.copy(body, 13);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

function main(): void {
  const [server, suffix] = process.argv.slice(2);
  const child = spawn(server, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const toClient: Writable = process.stdout;
  // Whole packets only, so an injected answer never lands inside one of the server's.
  packets(child.stdout, (packet) => toClient.write(packet));
  packets(process.stdin, (packet) => {
    const id = faultyRename(packet, suffix);
    if (id === undefined) child.stdin.write(packet);
    else toClient.write(failure(id));
  });
  process.stdin.on('end', () => child.stdin.end());
  child.on('exit', (code) => process.exit(code ?? 1));
}

main();
