package main

import (
	"context"
	"errors"
	"io"
)

// runEvaluate is a placeholder until the nocturnal-leg-cramps service lands.
func runEvaluate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("evaluate: not implemented yet")
}
