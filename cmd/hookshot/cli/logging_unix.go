//go:build !windows

package cli

import (
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// toggleDebugOnSIGUSR1 switches the level to debug on SIGUSR1 and back to
// the configured level on the next one, until done is closed.
func toggleDebugOnSIGUSR1(level zap.AtomicLevel, configured zapcore.Level, log *zap.Logger, done <-chan struct{}) {
	onSignal(syscall.SIGUSR1, done, func() {
		next := zapcore.DebugLevel
		if level.Level() == zapcore.DebugLevel {
			next = configured
		}
		level.SetLevel(next)
		log.Info("log level changed by SIGUSR1", zap.Stringer("level", next))
	})
}
