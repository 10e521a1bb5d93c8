// Command parcelbot runs the parcel support assistant.
//
//	parcelbot serve                                  run on Telegram (TELEGRAM_BOT_TOKEN)
//	parcelbot chat [--lang de] [--customer C-1001]   chat in the terminal
//	parcelbot test PATH...                           run conversation tests
//	parcelbot validate [--flows DIR] [--locales DIR] check flows, locales, data
//	parcelbot intent [--lang de]                     classify lines from stdin
//	parcelbot link --customer C-1001                 mint a deep-link token
//
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	tuneGC(os.Getenv)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `usage: parcelbot [--config parcelbot.yaml] <command> [flags]

commands:
  serve      run the bot on the channels the configuration enables (Telegram)
  chat       chat with the bot in the terminal (console channel, console agent desk)
  test       run conversation tests: parcelbot test PATH... (files or directories)
  validate   check flow files, locales and the data file
  intent     read utterances from stdin, print one intent per line
  link       mint a one-time deep-link token that links a chat to a customer
  loadtest   simulated customers through the real service and Redis store; prints figures
  health     exit 0 when a running serve answers /healthz (for container health checks)
  config     print the effective configuration (file, environment), secrets redacted;
             -docs the settings table of README.md, -example docs/parcelbot.example.yaml
  forget     erase a conversation for a data-protection request (--conversation tg:<chat id>)
  report     the support lead's tables from serve's counters (--since 7d): journeys, agents, satisfaction, order news
  event      post an order event to a running serve as the shop would (--order 302-… --type delayed)

Run 'parcelbot <command> -h' for a command's flags.
`

// run is the whole program, callable in-process from tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	config := ""
	if len(args) >= 2 && (args[0] == "--config" || args[0] == "-config") {
		config, args = args[1], args[2:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	env, err := loadEnv(getenv, config)
	if err != nil {
		fmt.Fprintf(stderr, "parcelbot: %v\n", err)
		return 2
	}
	a := &app{env: env, stdin: stdin, stdout: stdout, stderr: stderr}
	switch args[0] {
	case "serve":
		return a.serve(ctx, args[1:])
	case "chat":
		return a.chat(ctx, args[1:])
	case "test":
		return a.test(ctx, args[1:])
	case "validate":
		return a.validate(args[1:])
	case "intent":
		return a.intent(args[1:])
	case "link":
		return a.link(args[1:])
	case "loadtest":
		return a.loadtest(ctx, args[1:])
	case "health":
		return a.health(args[1:])
	case "report":
		return a.report(ctx, args[1:])
	case "event":
		return a.event(ctx, args[1:])
	case "forget":
		return a.forget(ctx, args[1:])
	case "config":
		switch {
		case len(args) > 1 && args[1] == "-docs":
			docsTable(stdout) // the configuration table of README.md
		case len(args) > 1 && args[1] == "-example":
			exampleFile(stdout) // docs/parcelbot.example.yaml
		case len(args) > 1:
			fmt.Fprintf(stderr, "parcelbot config: unknown flag %q (-docs, -example)\n", args[1])
			return 2
		default:
			env.print(stdout)
		}
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "parcelbot: unknown command %q\n\n%s", args[0], usage)
	return 2
}
