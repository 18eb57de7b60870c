package main

import (
	"errors"
	"io"
)

// runKnowledge is a placeholder until the knowledge base lands.
func runKnowledge(args []string, stdout, stderr io.Writer) error {
	return errors.New("knowledge: not implemented yet")
}
