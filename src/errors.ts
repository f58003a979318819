/**
 * A problem with what the user gave us (a file, a flag, a shape). The CLI prints
 * its message as one line and exits non-zero, without a stack trace; anything
 * else that escapes is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
