/**
 * A spec the API server accepted but the builders refuse: the objects it asks for could not
 * work (e.g. a cache volume smaller than the cache). The operator reports it in the status
 * (RenderFailed) and applies nothing; `tinycdn render` lists it like a schema error.
 */
export class UnrenderableSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrenderableSpecError';
  }
}
