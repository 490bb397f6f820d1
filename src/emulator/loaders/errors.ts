/**
 * The loaders' error: a stable kind plus the file at fault (STYLE.md "Errors as values"
 * on the emulator side). Thrown at the loader's API boundary; tsbhyve reports it and
 * exits with status 4.
 */
export type LoaderErrorKind = 'io' | 'format' | 'unsupported' | 'no-room';

export class LoaderError extends Error {
  constructor(
    readonly kind: LoaderErrorKind,
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'LoaderError';
  }
}
