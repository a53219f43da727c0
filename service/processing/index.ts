/** The processing module's public API, as the server uses it. */
export { defaultProcessingConfig, loadProcessingConfig, type ProcessingConfig } from './config.ts';
export { detectImageFormat } from './formats.ts';
export { createProcessor, type Processor } from './processor.ts';
export { configureSharp } from './sharp_config.ts';
export type { ProcessRequest, ProcessResult } from './types.ts';
