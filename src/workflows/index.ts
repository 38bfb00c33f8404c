// Entry point bundled into the worker's workflow sandbox.
export { certificateLifecycle } from './lifecycle';
