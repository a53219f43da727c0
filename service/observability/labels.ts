import { IMAGE_FORMATS, type ImageFormat } from '../formats/registry.ts';

/**
 * Label values of the service metrics, each from a closed set, so no request can create a
 * new series: never a URL, a path or a source host. A value outside its set becomes `other`.
 */

/**
 * Every HttpError kind the service declares (the `errors.ts` of each module), plus
 * `client_closed` for a client that left before its answer (status 499). A unit test reads
 * the sources and fails when a kind is added there but not here.
 */
export const ERROR_KINDS = [
  // server
  'bad_request',
  'client_closed',
  'internal',
  'method_not_allowed',
  'not_found',
  'queue_full',
  'shutting_down',
  'timeout',
  'unauthorized',
  // url
  'expired_url',
  'forbidden_option',
  'invalid_option_argument',
  'invalid_signature',
  'invalid_url',
  'security_options_forbidden',
  'unknown_option',
  'unsupported_output_format',
  // processing
  'cannot_save_format',
  'invalid_image',
  'page_not_found',
  'result_too_big',
  'source_frame_resolution_too_big',
  'source_resolution_too_big',
  'source_type_not_supported',
  // sources
  'source_address_not_allowed',
  'source_bad_redirect',
  'source_canceled',
  'source_denied',
  'source_encoding',
  'source_invalid_url',
  'source_not_allowed',
  'source_not_found',
  'source_partial',
  'source_read_failed',
  'source_scheme_disabled',
  'source_status',
  'source_throttled',
  'source_timeout',
  'source_too_big',
  'source_too_many_redirects',
  'source_truncated',
  'source_unreachable',
] as const;

/** Formats a result can have: every output format, and the source formats passed through (all known formats). */
export const FORMATS: readonly ImageFormat[] = IMAGE_FORMATS;
const FORMAT_SET: ReadonlySet<string> = new Set(FORMATS);

/** The timed phases of an image request (N_request_span_duration_seconds{span}). */
export const SPANS = ['queue', 'download', 'processing', 'encode'] as const;
export type SpanName = (typeof SPANS)[number];

const errorKinds: ReadonlySet<string> = new Set(ERROR_KINDS);

export const errorLabel = (kind: string): string => (errorKinds.has(kind) ? kind : 'other');
export const formatLabel = (format: string): string => (FORMAT_SET.has(format) ? format : 'other');

/** HTTP status as a label: a 3-digit code in 100-599 (the set is bounded by that range). */
export const statusLabel = (status: number): string =>
  Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
