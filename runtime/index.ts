// The runtime's public surface: the plan contract the compiler emits against, and running a plan.
export * from "./plan.js";
export * from "./types.js";
export { runPlan, Job, JobError, type RunOptions, type RunSummary, type RunReporter, type JobStats, type RecordFailure } from "./exec/job.js";
export type { BadRecord } from "./connectors/api.js";
export { ConnectorError } from "./connectors/api.js";
