import { HttpError } from '../errors.ts';

/**
 * Errors in processing options (from a URL or a preset), with imgproxy's statuses. imgproxy
 * answers every one of them with the bare public text "Invalid URL"; we append the reason,
 * because the reason is about the caller's own input (never about our internals) and a
 * clear error saves a debugging session. The URL module builds its own errors on this too.
 */
export const invalidUrlError = (kind: string, message: string, status = 404): HttpError =>
  new HttpError(kind, status, message, { publicMessage: `Invalid URL: ${message}`, report: false });

export const unknownOption = (name: string): HttpError =>
  invalidUrlError('unknown_option', `Unknown processing option ${name}`);

export const invalidArgs = (name: string, args: readonly string[]): HttpError =>
  invalidUrlError('invalid_option_argument', `Invalid ${name} arguments: ${args.join(':')}`);

export const invalidArgument = (key: string, arg: string, expected?: string): HttpError =>
  invalidUrlError(
    'invalid_option_argument',
    `Invalid ${key}: ${arg}${expected === undefined ? '' : ` (expected ${expected})`}`,
  );

export const optionError = (message: string): HttpError =>
  invalidUrlError('invalid_option_argument', message);

export const expiredUrl = (): HttpError => invalidUrlError('expired_url', 'Expired URL');

export const securityOptionsNotAllowed = (name: string): HttpError =>
  invalidUrlError(
    'security_options_forbidden',
    `Security processing option ${name} is not allowed (set IMGPROXY_ALLOW_SECURITY_OPTIONS=true)`,
    403,
  );

export const unsupportedOutputFormat = (format: string): HttpError =>
  new HttpError('unsupported_output_format', 422, `Resulting image format is not supported: ${format}`, {
    report: false,
  });
