package fhir_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a fetch leaves a goroutine behind (a request
// outliving its deadline, or a retry timer).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
