// Package driver runs API-driven actions — appSnaps, appBackups, restores
// and failovers — through their lifecycle stages, and records their progress
// in JetStream KV so that it survives any restart.
//
// An action is created pending (Driver.Create) in the events.BucketActions
// bucket under <account>.<id>. A driver then takes it through its plan
// (Action.Plan): for each stage it publishes the lifecycle event
// (events.PublishLifecycle, run ID = the action's RunID) and waits for the
// engine's stage result (events.WaitStageResult); between the pre and post
// stages it calls the Performer, which takes the action itself (Hookshot
// moves no data: NoopPerformer is the default). After every step the action
// is written with a compare-and-set on its KV revision.
//
//	snapshot:  snapshot/pre → perform → snapshot/post
//	backup:    backup/pre → snapshot/pre → perform → snapshot/post → backup/post
//
// Semantics (Astra's appSnap/appBackup fields):
//
//   - state is pending, running once the first step starts, then completed
//     or failed; stateUnready says why it failed.
//   - hookState is "" until a stage finished, then success, or failed once
//     any stage's was; hookStateDetails gathers every stage's details.
//   - A FAIL-mode pre hook that failed (abortAction), an error from the
//     Performer, or a stage result that does not come within
//     Config.StageTimeout fails the action: later pre stages and the perform
//     step are skipped, but the post stage of every pre stage that ran still
//     runs, innermost first (a thaw follows a freeze). A WARN-mode failure
//     leaves the action completed with hookState failed.
//
// # Restarts and replicas
//
// Every driver watches the whole bucket. The watch's first pass is the
// resume after a restart: every non-terminal action continues from its
// recorded Step (publishing a stage's event again is safe: it is
// de-duplicated, and the engine plans a stage once; the wait reads the
// results stream from the start of the run). Perform is called again if it
// was interrupted, so performers must be idempotent per action.
//
// Several drivers (server replicas) share the bucket. A driver drives an
// action only under a lease: Action.Lease names the owner and an expiry,
// taken and renewed (every third of Config.LeaseTTL) by compare-and-set
// writes. Only the owner writes a non-terminal action, so a failed
// compare-and-set means the lease was lost, and the driver stops driving
// it at once (canceling the performer); a driver that cannot renew gives the
// action up when a third of the TTL is left. Another driver takes an action
// over only once its lease has expired on its own clock, so two drivers
// never drive one action at once while their clocks differ by less than
// LeaseTTL/3. A driver that stops releases its leases; one that dies holds
// them until they expire. A terminal action has no lease.
//
// Example:
//
//	d, err := driver.New(ctx, driver.Config{JS: js, Logger: log})
//	if err != nil { … }
//	if err := d.Start(ctx); err != nil { … }
//	defer d.Stop(context.Background())
//	a, _, err := d.Create(ctx, driver.Action{Account: acct, AppID: app, Kind: driver.KindSnapshot}, user)
//	done, err := d.Wait(ctx, acct, a.ID) // done.State, done.HookState, done.HookStateDetails
package driver
