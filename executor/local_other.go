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

// scriptCache is Linux's (scriptcache_linux.go); here there is nothing to keep.
type scriptCache struct{}

func newScriptCache(string, int, int64) *scriptCache { return &scriptCache{} }

func (*scriptCache) close() error { return nil }
