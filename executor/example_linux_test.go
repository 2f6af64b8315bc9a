package executor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hookshot-dev/hookshot/executor"
)

func ExampleLocalRunner_Run() {
	src := executor.NewScriptSource("greet", []byte("#!/bin/sh\necho \"hello, $1 ($HOOKSHOT_STAGE)\"\nexit 3\n"))
	script, err := src.Script()
	if err != nil {
		fmt.Println(err)
		return
	}
	runner, err := executor.NewLocalRunner(executor.LocalConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := runner.Run(context.Background(), executor.Spec{
		Script:  script,
		Args:    []string{"mariadb"},
		Env:     map[string]string{"HOOKSHOT_STAGE": "pre"},
		Timeout: time.Minute,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(out.Stdout.Text)
	fmt.Println(out.Succeeded(), out.Reason())
	// Output:
	// hello, mariadb (pre)
	// false exit code 3
}
