/**
 * Errors of the processing pipeline, with imgproxy's statuses: anything wrong with the
 * source image is the client's problem (422, not reported); the public messages name the
 * problem without internals.
 */
import { HttpError } from '../errors.ts';

/** The bytes are no image we know (random bytes, an empty file, an unknown format). */
export const unsupportedImageType = () =>
  new HttpError('source_type_not_supported', 422, 'Source image type not supported', {
    publicMessage: 'Source image type not supported',
  });

/** The image is truncated or corrupt, or the decoder refused it. */
export const invalidImage = (cause?: unknown) =>
  new HttpError(
    'invalid_image',
    422,
    `Invalid source image${cause instanceof Error ? `: ${cause.message}` : ''}`,
    {
      publicMessage: 'Invalid source image',
      cause,
    },
  );

/** width x height (x frames, for animations) exceeds max_src_resolution. */
export const resolutionTooBig = (limitMp: number, size?: { width: number; height: number; frames: number }) =>
  new HttpError(
    'source_resolution_too_big',
    422,
    `Source image resolution is too big: ${
      size ? `${size.width}x${size.height}${size.frames > 1 ? ` x ${size.frames} frames` : ''}` : 'header'
    } exceeds ${limitMp} MP`,
    { publicMessage: 'Source image resolution is too big' },
  );

/** One animation frame exceeds max_animation_frame_resolution. */
export const frameResolutionTooBig = (width: number, height: number, limitMp: number) =>
  new HttpError(
    'source_frame_resolution_too_big',
    422,
    `Source image frame resolution is too big: ${width}x${height} > ${limitMp} MP`,
    { publicMessage: 'Source image frame resolution is too big' },
  );

/** The result would exceed max_result_dimension (or the size this server can build at all). */
export const resultTooBig = (width: number, height: number, maxDimension: number) =>
  new HttpError(
    'result_too_big',
    422,
    maxDimension > 0
      ? `Result image is too big: ${width}x${height} exceeds max_result_dimension ${maxDimension}`
      : `Result image is too big: ${width}x${height}`,
    { publicMessage: 'Result image dimensions are too big' },
  );

/** A format this server cannot write (svg is only passed through, never encoded). */
export const cannotSaveFormat = (format: string) =>
  new HttpError('cannot_save_format', 422, `Can't save ${format}: the format can only be passed through`, {
    publicMessage: `Can't convert the image to ${format}`,
  });

/** The `page` option asks for a page past the end of the document. */
export const pageNotFound = (page: number, pages: number) =>
  new HttpError(
    'page_not_found',
    422,
    `Page ${page} not found: the document has ${pages} page(s), numbered from 0`,
    {
      publicMessage: `Page ${page} not found: the document has ${pages} page(s), numbered from 0`,
    },
  );
