package executor

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func guardedRunner(t *testing.T) *LocalRunner {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewLocalRunner(LocalConfig{Guard: []string{"/usr/bin/env", guardEnv + "=1", self}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Behind a guard a hook looks the same to the runner: arguments, exit
// codes, output, signals, timeouts.
func TestGuardIsTransparent(t *testing.T) {
	t.Parallel()
	r := guardedRunner(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		script string
		args   []string
		check  func(o Outcome) bool
	}{
		{"exit code and output", "echo \"hello $1\"; exit 3", []string{"guard"}, func(o Outcome) bool {
			return o.ExitCode == 3 && o.Stdout.Text == "hello guard\n" && o.StartError == ""
		}},
		{"shebang", "#!/bin/sh\necho shebang\n", nil, func(o Outcome) bool { return o.Succeeded() && o.Stdout.Text == "shebang\n" }},
		{"killed by a signal", "kill -9 $$", nil, func(o Outcome) bool { return o.Signal == "killed" && o.ExitCode == -1 }},
		{"bad interpreter", "#!/no/such/shell\n", nil, func(o Outcome) bool { return !o.Succeeded() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := r.Run(ctx, Spec{Script: []byte(tt.script), Args: tt.args})
			if err != nil || !tt.check(o) {
				t.Fatalf("outcome %+v, err %v", o, err)
			}
		})
	}
	// A timeout still reaches the hook (the whole group gets TERM): the
	// guard waits for it instead of dying first.
	o, err := r.Run(ctx, Spec{Script: []byte("trap 'echo got TERM; exit 0' TERM; sleep 30 & wait"), Timeout: 300 * time.Millisecond, KillGrace: 5 * time.Second})
	if err != nil || !o.TimedOut || !strings.Contains(o.Stdout.Text, "got TERM") {
		t.Fatalf("timeout behind a guard: %+v %v", o, err)
	}
}
