//go:build !linux

package executor

import (
	"errors"
	"testing"
)

// Elsewhere than on Linux the local runner says at construction that it
// cannot run hooks here.
func TestNewLocalRunnerUnsupported(t *testing.T) {
	r, err := NewLocalRunner(LocalConfig{})
	if !errors.Is(err, ErrLocalUnsupported) || r != nil {
		t.Fatalf("NewLocalRunner = %v, %v; want ErrLocalUnsupported", r, err)
	}
}
