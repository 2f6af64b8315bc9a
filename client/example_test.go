package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/hookshot-dev/hookshot/client"
)

// A backup controller's round trip: store a script, hook it to the pre
// stage of an app's snapshots, take a snapshot and read what the hook did.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.New(client.Config{Server: serverURL, Token: token}) // e.g. http://127.0.0.1:8080
	if err != nil {
		log.Fatal(err)
	}
	src, err := c.CreateSource(ctx, "example-quiesce", []byte("#!/bin/sh\necho \"quiesced $HOOKSHOT_CONTAINER_NAME\"\n"), "")
	if err != nil {
		log.Fatal(err)
	}
	app, err := c.CreateApp(ctx, client.App{Name: "example-db", Containers: []client.Container{
		{NamespaceName: "prod", PodName: "db-0", ContainerName: "postgres", ContainerImage: "postgres:16"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.CreateHook(ctx, client.Hook{Name: "quiesce", Action: "snapshot", Stage: "pre", HookSourceID: src.ID, AppID: app.ID,
		MatchingCriteria: []client.Criterion{{Type: "containerImage", Value: "postgres"}}}); err != nil {
		log.Fatal(err)
	}
	snap, err := c.CreateAction(ctx, client.Snapshot, app.ID, client.Action{Name: "nightly"})
	if err != nil {
		log.Fatal(err)
	}
	snap, err = c.WaitAction(ctx, client.Snapshot, app.ID, snap.ID, 0)
	if err != nil {
		log.Fatal(err)
	}
	run, err := c.GetRun(ctx, snap.RunID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(snap.State, snap.HookState)
	for _, s := range run.Stages {
		for _, e := range s.Executions {
			fmt.Printf("%s/%s %s %s: %s", s.Action, s.Stage, e.HookName, e.Status, e.Stdout.Text)
		}
	}
	// Output:
	// completed success
	// snapshot/pre quiesce succeeded: quiesced postgres
}

// Errors are *client.APIError: the Astra problem, with every invalid field
// named.
func ExampleAPIError() {
	ctx := context.Background()
	c, err := client.New(client.Config{Server: serverURL, Token: token})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.CreateHook(ctx, client.Hook{Name: "bad", Action: "snapshot", Stage: "during"})
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Problem() == client.ProblemInvalidJSONResource)
		for _, f := range apiErr.Fields() {
			if f.Name == "stage" {
				fmt.Println(f.Name)
			}
		}
	}
	_, err = c.GetHook(ctx, "6f0b5d39-8e0b-4a55-9a3c-6f0a7d9b1c2e")
	fmt.Println(client.IsNotFound(err))
	// Output:
	// 400 true
	// stage
	// true
}
