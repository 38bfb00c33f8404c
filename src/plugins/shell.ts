// Commands run through a remote shell (ssh) or given to one (git's ssh command).

/** `s` as one POSIX shell word, whatever it holds. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
