//go:build !linux

package executor

import "context"

// localSupported tells whether LocalRunner works here: it needs Linux.
const localSupported = false

// Run returns ErrLocalUnsupported: NewLocalRunner never returns a runner
// here.
func (r *LocalRunner) Run(context.Context, Spec) (Outcome, error) {
	return Outcome{}, ErrLocalUnsupported
}
