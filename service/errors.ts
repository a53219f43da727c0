/**
 * An error that knows its HTTP meaning: the status to answer, the short public message
 * (the only text a client ever sees), and whether it is worth reporting in the logs as
 * a server fault. Each module declares its own errors in its `errors.ts` as named
 * constructors over this class, the way imgproxy's packages do.
 */
export class HttpError extends Error {
  /** HTTP status code sent to the client. */
  readonly status: number;
  /** Short plain-text body sent to the client; never contains internals. */
  readonly publicMessage: string;
  /** A stable machine name for the error kind (used in logs and, later, metrics labels). */
  readonly kind: string;
  /** False for expected client errors (bad URL, bad image), true for faults worth an alert. */
  readonly report: boolean;

  constructor(
    kind: string,
    status: number,
    message: string,
    opts: { publicMessage?: string; report?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'HttpError';
    this.kind = kind;
    this.status = status;
    this.publicMessage = opts.publicMessage ?? message;
    this.report = opts.report ?? status >= 500;
  }
}

export function isHttpError(err: unknown): err is HttpError {
  return err instanceof HttpError;
}
