package matcher

import (
	"fmt"

	"github.com/hookshot-dev/hookshot/events"
)

const testAccount = "acct-1"

// testID returns a lowercase UUIDv4 distinct for each (group, n).
func testID(group, n int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", group, n)
}

var (
	testApp    = testID(1, 1)
	testSource = testID(2, 1)
)

// newHook returns a valid, enabled pre-snapshot hook of testApp.
func newHook(n int, name string, criteria ...Criterion) *ExecutionHook {
	return &ExecutionHook{
		Type:             MediaType,
		Version:          Version13,
		ID:               testID(3, n),
		Name:             name,
		HookType:         HookTypeCustom,
		MatchingCriteria: criteria,
		Action:           ActionSnapshot,
		Stage:            StagePre,
		HookSourceID:     testSource,
		Arguments:        []string{"freeze"},
		AppID:            testApp,
		Enabled:          EnabledTrue,
	}
}

func labels(kv ...string) []events.Label {
	ls := make([]events.Label, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, events.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

// Inventory of testApp, deliberately unsorted.
var (
	cWeb = events.Container{NamespaceName: "web", PodName: "web-7f9", PodLabels: labels("app", "web", "tier", "front"),
		ContainerName: "nginx", ContainerImage: "nginx:1.25"}
	cMySQL = events.Container{NamespaceName: "db", PodName: "mysql-0", PodLabels: labels("app", "mysql", "tier", "back"),
		ContainerName: "mysql", ContainerImage: "docker.io/library/mysql:8.0"}
	cExporter = events.Container{NamespaceName: "db", PodName: "mysql-0", PodLabels: labels("app", "mysql", "tier", "back"),
		ContainerName: "exporter", ContainerImage: "prom/mysqld-exporter:v0.15"}
	cMariaDB = events.Container{NamespaceName: "db", PodName: "mariadb-0", PodLabels: labels("app", "mariadb"),
		ContainerName: "mariadb", ContainerImage: "docker.io/bitnami/mariadb:11.2"}
	inventory = []events.Container{cWeb, cMySQL, cExporter, cMariaDB}
)

// keys returns the containers' keys, for compact comparisons.
func keys(cs []events.Container) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Key()
	}
	return out
}

// names returns the names of the matched hooks.
func names(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Hook.Name
	}
	return out
}
