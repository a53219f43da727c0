/**
 * The processing module's public API, as the server uses it. Inside: `processor.ts` runs a
 * request (open the source, plan, `pipeline.ts`'s ordered steps, save); `steps/` holds one
 * file per pipeline step; `geometry/` the size, position and gravity maths; `image/` the
 * image the steps work on (real, deferred to one libvips pass, or size-only) and the
 * source limits; `codecs/` opening sources and saving results, with the decoders and
 * encoders libvips lacks (BMP, ICO; JPEG XL, HEIC and PDF in WebAssembly) and SVG sanitizing.
 */

export { detectImageFormat } from '../formats/registry.ts';
export { defaultProcessingConfig, loadProcessingConfig, type ProcessingConfig } from './config.ts';
export type { ProcessRequest, ProcessResult } from './process_request.ts';
export { createProcessor, type Processor } from './processor.ts';
export { configureSharp } from './sharp_config.ts';
