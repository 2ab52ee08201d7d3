/** Hub errors: each names the repo, revision and file it is about (and never the token). */
import { UserError } from '../util/errors.js';

export interface HubFileRef {
  repo: string;
  revision: string;
  file: string;
}

export const describe = (r: HubFileRef) => `${r.repo}@${r.revision}: ${r.file}`;

/** A file or repo the hub says does not exist (404), or access denied (401/403). */
export class HubHttpError extends UserError {
  constructor(
    readonly ref: HubFileRef,
    readonly status: number,
    detail: string,
  ) {
    super(`hub: ${describe(ref)}: ${detail}`);
    this.name = 'HubHttpError';
  }
}

/** A downloaded file whose hash does not match the hub's etag; it was discarded. */
export class HubIntegrityError extends UserError {
  constructor(ref: HubFileRef, detail: string) {
    super(`hub: ${describe(ref)}: ${detail}`);
    this.name = 'HubIntegrityError';
  }
}

/** Offline mode (HF_HUB_OFFLINE=1) and the file is not in the cache, or the network cannot be reached. */
export class HubOfflineError extends UserError {
  constructor(ref: HubFileRef, detail: string) {
    super(`hub: ${describe(ref)}: ${detail}`);
    this.name = 'HubOfflineError';
  }
}
