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
	lister, err := e.runs.Bucket.ListKeysFiltered(ctx, "pair.>")
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
		found, err := e.runs.Get(ctx, key, &p)
		if err != nil || !found || now.Before(p.Deadline) {
			continue
		}
		if planned, err := e.runs.Has(ctx, stageKey(p.Post.StageKey())); err != nil {
			return err
		} else if planned {
			// The post stage ran (a promise left by an older engine, or
			// made by a pre stage that raced its post): it is kept.
			if err := e.runs.Bucket.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return err
			}
			continue
		}
		e.log.Warn("post stage never requested; running it to keep the pre/post pairing",
			zap.String("run_id", p.Post.RunID), zap.String("app_id", p.Post.AppID), zap.String("action", string(p.Post.Action)))
		if _, err := events.PublishLifecycle(ctx, e.js, &p.Post); err != nil {
			return err
		}
	}
	return nil
}

// promisePost records the pairing of a pre stage that was just planned,
// unless the run's post stage already has a plan or a result: a finished
// run stays finished.
func (e *Engine) promisePost(ctx context.Context, pre *StageRecord) error {
	post := pre.Event
	post.Stage = events.StagePost
	postKey := post.StageKey()
	for _, k := range []string{stageKey(postKey), resultKey(postKey)} {
		if has, err := e.runs.Has(ctx, k); err != nil || has {
			return err
		}
	}
	p := pairing{Post: post, Deadline: time.Now().Add(e.cfg.PairingTimeout).UTC()}
	_, err := e.runs.Create(ctx, pairKey(post.AccountID, post.RunID, post.Action), &p)
	return err
}
