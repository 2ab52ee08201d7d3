/** An error caused by the user's input (file, row, option). The CLI prints its message and exits non-zero. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}
