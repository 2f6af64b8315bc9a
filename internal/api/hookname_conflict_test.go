package api_test

import (
	"net/http"
	"testing"
)

// TestHookNameConflictSaysWhereTheNameIsUnique: a 409 on a hook's name says
// among what it must be unique — a custom hook's within its app, a netapp
// hook's within the account — and keeps Astra's problem 10 (issue 12).
// Sources and apps stay unique per account.
func TestHookNameConflictSaysWhereTheNameIsUnique(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	reason := func(r response) string {
		t.Helper()
		r.wantProblem(t, 409, 10, "name")
		list, _ := r.body["invalidFields"].([]any)
		for _, it := range list {
			if f, _ := it.(map[string]any); f["name"] == "name" {
				s, _ := f["reason"].(string)
				return s
			}
		}
		t.Fatalf("no reason for name: %s", r.raw)
		return ""
	}
	hooks := acctPath("/core/v1/executionHooks")

	if r := h.do(http.MethodPost, hooks, memberToken, seedHook()); r.status != http.StatusCreated {
		t.Fatal(string(r.raw))
	}
	if got, want := reason(h.do(http.MethodPost, hooks, memberToken, seedHook())), "another hook of this app has this name"; got != want {
		t.Errorf("custom hook: reason %q, want %q", got, want)
	}
	// Renaming another custom hook of the app onto the name: the same.
	other := seedHook()
	other["name"] = "Other"
	created := h.do(http.MethodPost, hooks, memberToken, other)
	if created.status != http.StatusCreated {
		t.Fatal(string(created.raw))
	}
	id := created.body["id"].(string)
	rename := seedHook()
	rename["id"] = id
	if got, want := reason(h.do(http.MethodPut, hooks+"/"+id, memberToken, rename)), "another hook of this app has this name"; got != want {
		t.Errorf("custom hook renamed: reason %q, want %q", got, want)
	}

	netapp := seedHook()
	netapp["hookType"], netapp["name"] = "netapp", "Quiesce"
	if r := h.do(http.MethodPost, hooks, adminToken, netapp); r.status != http.StatusCreated {
		t.Fatal(string(r.raw))
	}
	if got, want := reason(h.do(http.MethodPost, hooks, adminToken, netapp)), "another hook of the account has this name"; got != want {
		t.Errorf("netapp hook: reason %q, want %q", got, want)
	}

	src := map[string]any{"type": "application/astra-hookSource", "version": "1.0", "name": "seed script", "sourceType": "script", "source": seedSource}
	if got, want := reason(h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, src)), "another resource of the account has this name"; got != want {
		t.Errorf("source: reason %q, want %q", got, want)
	}
}
