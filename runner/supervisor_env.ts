/**
 * The environment variable that makes a process a worker, in a module of its own: `serve()`
 * reads it at every start, and the control channel is only loaded when it is set.
 *
 * @module
 */

/** The environment variable that makes a process a worker and says where its supervisor listens. */
export const SUPERVISOR_ENV = "TWINE_SUPERVISOR";
