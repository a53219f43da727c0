import { HttpError } from '../errors.ts';

/**
 * URL errors, with imgproxy's statuses. imgproxy answers every one of them with the bare
 * public text "Invalid URL"; we append the reason, because the reason is about the caller's
 * own input (never about our internals) and a clear error saves a debugging session.
 */
const invalid = (kind: string, message: string, status = 404): HttpError =>
  new HttpError(kind, status, message, { publicMessage: `Invalid URL: ${message}`, report: false });

export const invalidUrl = (message: string): HttpError => invalid('invalid_url', message);

export const unknownOption = (name: string): HttpError =>
  invalid('unknown_option', `Unknown processing option ${name}`);

export const forbiddenOption = (name: string): HttpError =>
  invalid(
    'forbidden_option',
    `Forbidden processing option ${name} (not in IMGPROXY_ALLOWED_PROCESSING_OPTIONS)`,
  );

export const invalidArgs = (name: string, args: readonly string[]): HttpError =>
  invalid('invalid_option_argument', `Invalid ${name} arguments: ${args.join(':')}`);

export const invalidArgument = (key: string, arg: string, expected?: string): HttpError =>
  invalid(
    'invalid_option_argument',
    `Invalid ${key}: ${arg}${expected === undefined ? '' : ` (expected ${expected})`}`,
  );

export const optionError = (message: string): HttpError => invalid('invalid_option_argument', message);

export const expiredUrl = (): HttpError => invalid('expired_url', 'Expired URL');

export const securityOptionsNotAllowed = (name: string): HttpError =>
  invalid(
    'security_options_forbidden',
    `Security processing option ${name} is not allowed (set IMGPROXY_ALLOW_SECURITY_OPTIONS=true)`,
    403,
  );

/** 403 with imgproxy's bare public text: never say why a signature failed. */
export const invalidSignature = (reason: string): HttpError =>
  new HttpError('invalid_signature', 403, `Invalid signature: ${reason}`, {
    publicMessage: 'Forbidden',
    report: false,
  });

/** imgproxy's words, shown to the caller: the fix is in their URL. */
export const signatureMissing = (): HttpError =>
  new HttpError(
    'invalid_signature',
    403,
    'The signature appears to be a processing option. The signature section should always be present in the URL.',
    { report: false },
  );

export const unsupportedOutputFormat = (format: string): HttpError =>
  new HttpError('unsupported_output_format', 422, `Resulting image format is not supported: ${format}`, {
    report: false,
  });
