// Environment variables in blueprint values, `$NAME` and `${NAME}`, as AutoSSL's os.path.expandvars reads them: a
// name is letters, digits and underscores, not starting with a digit, and as long as it goes (`$DIR_x` is DIR_x).
// A `$` followed by no name (`$$`, `$1`, `${1}`, a final `$`) stays as written, as there. Unlike there, an unset
// variable is not left in place: the caller reports it, so a typo never becomes part of a path or a URL.
const REFERENCE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** `text` with every reference replaced; `unset` says what an unset one becomes (or throws). */
export function expandVariables(
  text: string,
  lookup: (name: string) => string | undefined,
  unset: (reference: string, name: string) => string,
): string {
  return text.replace(REFERENCE, (reference, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    return lookup(name) ?? unset(reference, name);
  });
}
