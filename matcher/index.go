package matcher

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultCacheSize is the default of Config.CacheSize.
const DefaultCacheSize = 4096

// Config configures an Index.
type Config struct {
	// CacheSize bounds the number of compiled patterns kept by source text.
	// Defaults to 4096.
	CacheSize int
}

func (c Config) withDefaults() Config {
	c.CacheSize = cmp.Or(max(c.CacheSize, 0), DefaultCacheSize)
	return c
}

type (
	hookKey  struct{ account, id string }
	appKey   struct{ account, appID string }
	stageKey struct {
		account, appID string
		action         Action
		stage          Stage
	}
	overrideKey struct{ account, appID, hookID string }
)

// entry is a stored hook: a private copy and its compiled criteria. Entries
// are immutable; Put replaces them.
type entry struct {
	hook     *ExecutionHook
	criteria []criterion
}

func compareEntries(a, b *entry) int {
	return cmp.Or(strings.Compare(a.hook.Name, b.hook.Name), strings.Compare(a.hook.ID, b.hook.ID))
}

// Index holds execution hooks by account, app, action and stage. It is safe
// for concurrent use. The cost of a Match depends on the enabled hooks of the
// matched app, action and stage, not on the number of stored hooks.
//
// The Index does not enforce unique names: the store does, and a replica fed
// from the store's change feed may see two hooks briefly share a name while
// renames arrive. Ties are ordered by id.
type Index struct {
	cfg   Config
	cache *regexCache
	// evaluations counts hooks whose criteria were evaluated against an
	// inventory: see Evaluations.
	evaluations atomic.Int64

	mu   sync.RWMutex
	byID map[hookKey]*entry
	// The slices below are copy-on-write, sorted by name then id: a reader
	// may keep one after releasing mu.
	byApp   map[appKey][]*entry   // every hook of an app
	byStage map[stageKey][]*entry // every hook of an app's action and stage
	// overrides enable or disable a hook for one app (Astra's
	// executionHookOverrides), whatever the hook's own enabled says.
	overrides map[overrideKey]bool
}

// NewIndex returns an empty Index.
func NewIndex(cfg Config) *Index {
	cfg = cfg.withDefaults()
	return &Index{
		cfg:       cfg,
		cache:     newRegexCache(cfg.CacheSize),
		byID:      make(map[hookKey]*entry),
		byApp:     make(map[appKey][]*entry),
		byStage:   make(map[stageKey][]*entry),
		overrides: make(map[overrideKey]bool),
	}
}

// Evaluations returns how many times, since NewIndex, a hook's criteria were
// evaluated against an inventory: once per candidate hook of a Match, once
// per hook of an Explain, once per MatchingContainers. Tests use it to check
// that a request evaluates each hook once.
func (ix *Index) Evaluations() int64 { return ix.evaluations.Load() }

// SetOverride enables or disables hookID for appID, overriding the hook's
// own enabled field (Astra's executionHookOverride).
func (ix *Index) SetOverride(account, appID, hookID string, enabled bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.overrides[overrideKey{account, appID, hookID}] = enabled
}

// ClearOverride removes the override of hookID for appID.
func (ix *Index) ClearOverride(account, appID, hookID string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.overrides, overrideKey{account, appID, hookID})
}

// effective reports whether e runs for appID, and whether an override said
// so. ix.mu must be held.
func (ix *Index) effective(account, appID string, e *entry) (enabled, overridden bool) {
	if v, ok := ix.overrides[overrideKey{account, appID, e.hook.ID}]; ok {
		return v, true
	}
	return e.hook.IsEnabled(), false
}

// Put validates h, compiles its criteria and stores a private copy under
// account, replacing any hook of the same id (also when its app, action or
// stage changed). h.ID is required. A validation failure is a
// *ValidationError naming every invalid field; nothing is stored.
func (ix *Index) Put(account string, h *ExecutionHook) error {
	if account == "" {
		return ErrAccountRequired
	}
	if h == nil {
		return fmt.Errorf("%w: nil hook", ErrInvalidHook)
	}
	hook := h.Clone()
	res, err := hook.validate(ix.cache.compile)
	if hook.ID == "" {
		ve := &ValidationError{}
		errors.As(err, &ve)
		ve.Fields = slices.Insert(ve.Fields, 0, FieldError{Field: "id", Reason: "required to index the hook"})
		return ve
	}
	if err != nil {
		return err
	}
	e := &entry{hook: hook, criteria: compileCriteria(hook.MatchingCriteria, res)}

	ix.mu.Lock()
	defer ix.mu.Unlock()
	k := hookKey{account, hook.ID}
	if old, ok := ix.byID[k]; ok {
		ix.unlink(account, old)
	}
	ix.byID[k] = e
	ak := appKey{account, hook.AppID}
	ix.byApp[ak] = inserted(ix.byApp[ak], e)
	sk := stageKey{account, hook.AppID, hook.Action, hook.Stage}
	ix.byStage[sk] = inserted(ix.byStage[sk], e)
	return nil
}

// Delete removes the hook, if present.
func (ix *Index) Delete(account, hookID string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	k := hookKey{account, hookID}
	if e, ok := ix.byID[k]; ok {
		ix.unlink(account, e)
		delete(ix.byID, k)
	}
}

// unlink removes e from byApp and byStage. ix.mu must be held.
func (ix *Index) unlink(account string, e *entry) {
	h := e.hook
	ak := appKey{account, h.AppID}
	if s := removed(ix.byApp[ak], e); s != nil {
		ix.byApp[ak] = s
	} else {
		delete(ix.byApp, ak)
	}
	sk := stageKey{account, h.AppID, h.Action, h.Stage}
	if s := removed(ix.byStage[sk], e); s != nil {
		ix.byStage[sk] = s
	} else {
		delete(ix.byStage, sk)
	}
}

// Get returns a copy of the hook.
func (ix *Index) Get(account, hookID string) (*ExecutionHook, bool) {
	ix.mu.RLock()
	e, ok := ix.byID[hookKey{account, hookID}]
	ix.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return e.hook.Clone(), true
}

// Len returns the number of stored hooks, all accounts together.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// HooksForApp returns copies of every hook of the app (all actions and
// stages, enabled or not), ordered by name then id.
func (ix *Index) HooksForApp(account, appID string) []*ExecutionHook {
	ix.mu.RLock()
	es := ix.byApp[appKey{account, appID}]
	ix.mu.RUnlock()
	out := make([]*ExecutionHook, len(es))
	for i, e := range es {
		out[i] = e.hook.Clone()
	}
	return out
}

// inserted returns a new sorted slice with e added.
func inserted(s []*entry, e *entry) []*entry {
	i, _ := slices.BinarySearchFunc(s, e, compareEntries)
	out := make([]*entry, 0, len(s)+1)
	return append(append(append(out, s[:i]...), e), s[i:]...)
}

// removed returns a new slice without e, or nil when none is left.
func removed(s []*entry, e *entry) []*entry {
	i, found := slices.BinarySearchFunc(s, e, compareEntries)
	if !found || s[i] != e {
		return s
	}
	if len(s) == 1 {
		return nil
	}
	return slices.Concat(s[:i], s[i+1:])
}
