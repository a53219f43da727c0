import { HttpError } from '../errors.ts';
import { invalidUrlError } from '../options/errors.ts';

/** URL errors, with imgproxy's statuses (errors in the options themselves: options/errors.ts). */

export const invalidUrl = (message: string): HttpError => invalidUrlError('invalid_url', message);

export const forbiddenOption = (name: string): HttpError =>
  invalidUrlError(
    'forbidden_option',
    `Forbidden processing option ${name} (not in IMGPROXY_ALLOWED_PROCESSING_OPTIONS)`,
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
