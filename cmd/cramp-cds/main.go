// Command cramp-cds is the nocturnal-leg-cramps CDS Hooks 2.0 service.
//
//	cramp-cds [serve] [flags]        serve the CDS Hooks API (the default)
//	cramp-cds knowledge [--json]     print the clinical knowledge base for review
//	cramp-cds evaluate [flags] FILE  run the service on a request or a FHIR Bundle, print the cards
//	cramp-cds report [flags]         what the store remembers: cards, feedback, snoozes per topic
//	cramp-cds population [flags]     run the service in silent mode over a population export
//	cramp-cds version                print the software and knowledge versions
//	cramp-cds demo [flags]           send every example, dated as of today, to a server, print the cards
//	cramp-cds token [flags] URL      print a JWT signed by the local development key, for curl
//	cramp-cds examples --out DIR     write the examples with their dates moved to today
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
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cramp-cds:", err)
		os.Exit(1)
	}
}

// run dispatches to a subcommand; everything it needs is passed in so tests can drive it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stdout, stderr)
	case "knowledge":
		return runKnowledge(args, stdout, stderr)
	case "evaluate":
		return runEvaluate(ctx, args, stdin, stdout, stderr)
	case "report":
		return runReport(ctx, args, os.Getenv, stdout, stderr)
	case "population":
		return runPopulation(ctx, args, stdout, stderr)
	case "version":
		return runVersion(args, stdout)
	case "demo":
		return runDemo(ctx, args, stdout, stderr)
	case "token":
		return runToken(args, stdout, stderr)
	case "examples":
		return runExamples(args, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q (want serve, knowledge, evaluate, report, population, version, demo, token or examples)", cmd)
	}
}
