package matcher_test

import (
	"fmt"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/matcher"
)

func Example() {
	ix := matcher.NewIndex(matcher.Config{})
	hook := &matcher.ExecutionHook{
		Type:         matcher.MediaType,
		Version:      matcher.CurrentVersion,
		ID:           "6a9e2f0c-8a1d-4d3e-9b7a-0c1f2e3d4a5b",
		Name:         "mariadb-freeze",
		HookType:     matcher.HookTypeCustom,
		Action:       matcher.ActionSnapshot,
		Stage:        matcher.StagePre,
		HookSourceID: "50e89023-ba84-435d-bb47-1833f4c250ff",
		AppID:        "7be5ae7c-151d-4230-ac39-ac1d0b33c2a9",
		Arguments:    []string{"freeze"},
		MatchingCriteria: []matcher.Criterion{
			{Type: matcher.CriterionContainerImage, Value: `\bmariadb\b`},
			{Type: matcher.CriterionPodLabel, Value: `^app=payroll$`},
		},
	}
	hook.ApplyDefaults()
	if err := ix.Put("acct", hook); err != nil {
		fmt.Println(err)
		return
	}

	payroll := []events.Label{{Name: "app", Value: "payroll"}}
	inventory := []events.Container{
		{NamespaceName: "payroll", PodName: "web-0", PodLabels: payroll, ContainerName: "web", ContainerImage: "nginx:1.25"},
		{NamespaceName: "payroll", PodName: "db-0", PodLabels: payroll, ContainerName: "db", ContainerImage: "docker.io/bitnami/mariadb:11.2"},
	}
	res := ix.Match("acct", hook.AppID, matcher.ActionSnapshot, matcher.StagePre, inventory)
	for _, m := range res.Matches {
		for _, c := range m.Containers {
			fmt.Printf("run %s in %s\n", m.Hook.Name, c.Key())
		}
	}

	for _, x := range ix.Explain("acct", hook.AppID, matcher.ActionSnapshot, matcher.StagePre, inventory) {
		fmt.Printf("%s: %s (%s)\n", x.HookName, x.Reason, x.Message)
		for _, v := range x.Containers {
			fmt.Printf("  %s: %s\n", v.Container.Key(), v.Detail)
		}
	}
	// Output:
	// run mariadb-freeze in payroll/db-0/db
	// mariadb-freeze: matched (would run on 1 of 2 containers)
	//   payroll/db-0/db: all 2 criteria matched
	//   payroll/web-0/web: containerImage `\bmariadb\b` did not match "nginx:1.25"
}

func ExampleExecutionHook_Validate() {
	hook := &matcher.ExecutionHook{
		Type:             matcher.MediaType,
		Version:          "1.3",
		Name:             "thaw",
		HookType:         matcher.HookTypeCustom,
		Action:           matcher.ActionRestore,
		Stage:            matcher.StagePre,
		HookSourceID:     "50e89023-ba84-435d-bb47-1833f4c250ff",
		AppID:            "payroll",
		MatchingCriteria: []matcher.Criterion{{Type: matcher.CriterionPodName, Value: "db-("}},
	}
	err := hook.Validate()
	if ve, ok := err.(*matcher.ValidationError); ok {
		for _, f := range ve.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Reason)
		}
	}
	// Output:
	// matchingCriteria[0].value: invalid RE2 regex: error parsing regexp: missing closing ): `db-(`
	// stage: "pre" is not a stage of action "restore" (allowed: post)
	// appID: must conform to the Astra Identifier Schema (a lowercase UUID)
}
