// Package engine plans lifecycle events into jobs and answers every stage
// with one stage result. It is the middle of Hookshot's flow:
//
//	backup controller / driver
//	        │ lifecycle event (hookshot.lifecycle.<account>.<app>.<action>.<stage>)
//	        ▼
//	HOOKSHOT_LIFECYCLE ──► engine: decode, discover the app's containers
//	                       (internal/cluster), match enabled hooks (matcher),
//	                       plan the stage once (create-if-absent in the
//	                       run-state bucket, internal/runstate), dispatch
//	                       one job per hook × container, lane by lane
//	                              │ job (hookshot.jobs.<account>.<cluster>.<app>)
//	                              ▼
//	HOOKSHOT_JOBS ──► internal/worker: run the hook in its container or on
//	                  the host (executor), record the result once
//	                              │ execution result
//	                              ▼
//	HOOKSHOT_RESULTS ──► engine: aggregate (idempotent progress bitmap),
//	                     release the lane's next hook, and once every
//	                     execution is in, publish the stage result
//	                              │ stage result (hookState, hookStateDetails)
//	                              ▼
//	                     the controller, the driver, `hookshot runs`
//
// Concurrency: lifecycle events are planned one at a time per app, apps
// concurrently; execution results are recorded one batch at a time per
// run (what queued up meanwhile: one progress update, one publish of the
// next hooks), runs concurrently (keyedSerial). Every publish waits for
// its ack at most events.PublishAckTimeout: an ack lost with a stream
// leader is trouble to retry, never a wait for ever.
//
// The pairing watchdog publishes a post stage the controller never asked
// for, so a freeze is always followed by its thaw. Several engines may run
// against one NATS system: they share durable consumers, and every write
// that must happen once is a create-if-absent.
//
// internal/node wires an Engine with workers, the driver and the API as
// `hookshot server` runs them; docs/architecture.md draws the packages.
package engine
