// Command hookshot runs Hookshot: the server (embedded NATS, engine, workers),
// standalone workers, and the commands that load hooks and publish events.
package main

import (
	"os"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
