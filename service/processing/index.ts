/** The processing module's public API, as the server uses it. */

export { detectImageFormat } from '../formats/registry.ts';
export { defaultProcessingConfig, loadProcessingConfig, type ProcessingConfig } from './config.ts';
export { createProcessor, type Processor } from './processor.ts';
export { configureSharp } from './sharp_config.ts';
export type { ProcessRequest, ProcessResult } from './types.ts';
