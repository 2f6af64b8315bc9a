package executor_test

import (
	"errors"
	"fmt"

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
