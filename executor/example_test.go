package executor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookshot-dev/hookshot/executor"
)

func ExampleChecksum() {
	// The first source of Astra's "List all hook sources" example: the
	// checksum is the MD5 of the base64 text.
	fmt.Println(executor.Checksum("ZWNobyAiVkhKaGJuTWdVbWxuYUhSeklRPT0iIHwgYmFzZTY0IC1k"))
	// Output: b1a4b8b0144c3f6be553b626130ca145
}

func ExampleHookSource_Validate() {
	src := executor.NewScriptSource("", []byte("#!/bin/sh\r\necho frozen\r\n"))
	src.Private = "yes"

	var verr *executor.ValidationError
	if errors.As(src.Validate(), &verr) {
		for _, f := range verr.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Reason)
		}
	}
	// Output:
	// name: is required (1 to 63 characters)
	// private: is "yes"; must be "true" or "false"
	// source: contains a carriage return at byte 9 (line 1); save the script with LF line endings
}

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
