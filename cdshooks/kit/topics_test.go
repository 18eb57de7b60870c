package kit_test

import (
	"strings"
	"testing"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
)

func TestNewRegistryRefusesWhatAUUIDCannotCarry(t *testing.T) {
	t.Parallel()
	many := make([][2]string, 256)
	for i := range many {
		many[i] = [2]string{"t" + strings.Repeat("x", i), "T"}
	}
	for name, lists := range map[string][][]cdshooks.Coding{
		"a code twice":   {kit.Topics([2]string{"a", "A"}), kit.Topics([2]string{"a", "A again"})},
		"no display":     {kit.Topics([2]string{"a", ""})},
		"another system": {{{System: "https://example.org/topics", Code: "a", Display: "A"}}},
		"256 topics":     {kit.Topics(many...)},
	} {
		if _, err := kit.NewRegistry(lists...); err == nil {
			t.Errorf("%s: NewRegistry succeeded", name)
		}
	}
	if _, err := kit.NewRegistry(kit.Topics(many[:255]...)); err != nil {
		t.Errorf("255 topics: %v", err)
	}
}

// A topic's uuids name it by its position: registries that agree on the
// positions read each other's uuids, and a topic appended later does not
// move the earlier ones.
func TestTopicPositionsAreAppendOnly(t *testing.T) {
	t.Parallel()
	first := kit.Topics([2]string{"alpha", "Alpha"}, [2]string{"beta", "Beta"})
	alone, err := kit.NewRegistry(first)
	if err != nil {
		t.Fatal(err)
	}
	both, err := kit.NewRegistry(first, kit.Topics([2]string{"gamma", "Gamma"}))
	if err != nil {
		t.Fatal(err)
	}
	const hook = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
	if a, b := alone.CardUUID(hook, "beta", "k"), both.CardUUID(hook, "beta", "k"); a != b {
		t.Errorf("beta's uuid %s alone, %s with a topic appended; want the same", a, b)
	}
	gamma := both.CardUUID(hook, "gamma", "k")
	if topic, ok := both.TopicOf(gamma); !ok || topic != "gamma" {
		t.Errorf("TopicOf(gamma's uuid) = %q, %v", topic, ok)
	}
	if topic, ok := alone.TopicOf(gamma); ok {
		t.Errorf("a registry without gamma read its uuid as %q", topic)
	}
}
