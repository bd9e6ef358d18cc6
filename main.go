// Command roster is a user-account service: sign-up, login, sessions and
// account management over HTTP, with an embedded SQLite database.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"roster/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
