package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
)

// pairingWatchdog keeps the pairing promise: a run whose pre stage dispatched
// hooks gets its post stage (a thaw follows a freeze) even when the
// controller died or forgot. Past the deadline the engine publishes the post
// lifecycle event itself, with the usual de-duplication ID, so a controller
// that publishes it at the same moment causes no second run.
func (e *Engine) pairingWatchdog(ctx context.Context) {
	t := time.NewTicker(e.cfg.PairingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.checkPairings(ctx, time.Now()); err != nil && ctx.Err() == nil {
				e.log.Warn("pairing watchdog", zap.Error(err))
			}
		}
	}
}

// checkPairings publishes the post event of every pairing past its deadline.
func (e *Engine) checkPairings(ctx context.Context, now time.Time) error {
	lister, err := e.runs.kv.ListKeysFiltered(ctx, "pair.>")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for key := range lister.Keys() {
		if !strings.HasPrefix(key, "pair.") {
			continue
		}
		var p pairing
		found, err := e.runs.get(ctx, key, &p)
		if err != nil || !found || now.Before(p.Deadline) {
			continue
		}
		e.log.Warn("post stage never requested; running it to keep the pre/post pairing",
			zap.String("run_id", p.Post.RunID), zap.String("app_id", p.Post.AppID), zap.String("action", p.Post.Action))
		if _, err := events.PublishLifecycle(ctx, e.js, &p.Post); err != nil {
			return err
		}
	}
	return nil
}
