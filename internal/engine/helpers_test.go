package engine_test

import (
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/internal/worker"
)

func storeApp(id string, cs ...events.Container) store.App {
	return store.App{ID: id, Name: "app-" + id[:8], Containers: cs}
}

func engineWorkerConfig() worker.Config { return worker.Config{Concurrency: 4} }

func newSource(name, script string) *executor.HookSource {
	return executor.NewScriptSource(name, []byte(script))
}
