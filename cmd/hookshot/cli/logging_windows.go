package cli

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// toggleDebugOnSIGUSR1 does nothing: Windows has no SIGUSR1. The level can
// still be changed with PUT /admin/loglevel.
func toggleDebugOnSIGUSR1(zap.AtomicLevel, zapcore.Level, *zap.Logger, <-chan struct{}) {}
