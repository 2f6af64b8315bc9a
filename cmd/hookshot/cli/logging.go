package cli

import (
	"io"
	"os"
	"os/signal"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/config"
)

// daemonLogger builds the daemon's logger: JSON, or console on a terminal
// with format auto; its level can change at run time through the returned
// AtomicLevel (SIGUSR1, PUT /admin/loglevel).
func daemonLogger(c config.Log, out io.Writer) (*zap.Logger, zap.AtomicLevel, error) {
	level, err := zap.ParseAtomicLevel(c.Level)
	if err != nil {
		return nil, level, err
	}
	console := c.Format == "console"
	if c.Format == "auto" {
		f, ok := out.(*os.File)
		console = ok && term.IsTerminal(int(f.Fd()))
	}
	var enc zapcore.Encoder
	if console {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(out), level)
	return zap.New(core, zap.AddCaller(), zap.ErrorOutput(zapcore.AddSync(out))), level, nil
}

// onSignal calls fn each time sig arrives, until done is closed.
func onSignal(sig os.Signal, done <-chan struct{}, fn func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-done:
				return
			case <-ch:
				fn()
			}
		}
	}()
}
