import { definePlugin } from '../../types';

export default definePlugin({
  category: 'storage',
  name: 'git',
  aliases: ['autossl.storage.gitscm.GitStorage'],
  description: 'Artifacts as files in a git repository, a commit per change (credentials: UserPassword for https, SshKey for ssh).',
  credentials: { types: ['UserPassword', 'SshKey'] },
  parameters: {
    git_url: {
      type: 'string',
      required: true,
      expandEnv: true,
      description: 'Repository URL: https://, ssh:// (or user@host:path) or file://; never with a password in it.',
    },
    folder: { type: 'string', description: 'Folder inside the repository holding <name>.key, .csr, .crt, .yaml (default its root).' },
    branch: { type: 'string', description: "Branch to commit to (default the remote's default branch, else main)." },
    committer_name: { type: 'string', default: 'autossl', description: 'Author and committer name of the commits.' },
    committer_email: { type: 'string', default: 'autossl@localhost', description: 'Author and committer email of the commits.' },
    config_user_name: { type: 'string', aliasOf: 'committer_name', description: "AutoSSL's name of committer_name (git config user.name)." },
    config_user_email: { type: 'string', aliasOf: 'committer_email', description: "AutoSSL's name of committer_email (git config user.email)." },
    private_key_file: { type: 'string', expandEnv: true, description: "ssh: private key file to log in with; else the SshKey credential's." },
    known_hosts_file: {
      type: 'string',
      expandEnv: true,
      description: "ssh: known_hosts file the server's host key is checked against (default the user's).",
    },
    accept_unknown_host_key: {
      type: 'boolean',
      default: false,
      description: "ssh: trust a host whose key is in no known_hosts file and record it there (a changed key is still refused); as the ssh server's.",
    },
  },

  load: () => (require('.') as typeof import('.')).createGitStorage,
});
