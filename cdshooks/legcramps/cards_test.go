package legcramps_test

import (
	"github.com/google/go-cmp/cmp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cramp-cds/cramp-cds/cdshooks"
	"github.com/cramp-cds/cramp-cds/cdshooks/kit"
	"github.com/cramp-cds/cramp-cds/cdshooks/legcramps"
)

func TestCardUUIDsAreDeterministicDistinctAndCarryTheTopic(t *testing.T) {
	t.Parallel()
	reg := legcrampsTopics(t)
	const hook = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
	topics := []string{
		legcramps.TopicMedication, legcramps.TopicMissingLabs, legcramps.TopicAbnormalLab,
		legcramps.TopicAssociatedCondition, legcramps.TopicDifferential, legcramps.TopicInducingOrder,
	}
	seen := map[string]string{}
	for _, topic := range topics {
		for _, key := range []string{"", "hydrochlorothiazide", "magnesium"} {
			id := reg.CardUUID(hook, topic, key)
			if again := reg.CardUUID(hook, topic, key); again != id {
				t.Errorf("CardUUID(%q, %q) = %s then %s, want the same", topic, key, id, again)
			}
			if other, dup := seen[id]; dup {
				t.Errorf("CardUUID(%q, %q) = %s, same as %s", topic, key, id, other)
			}
			seen[id] = topic + "/" + key
			u, err := uuid.Parse(id)
			if err != nil {
				t.Fatalf("CardUUID gave %q, not a UUID: %v", id, err)
			}
			if got, want := u.Version(), uuid.Version(8); got != want {
				t.Errorf("version of %s = %d, want %d", id, got, want)
			}
			if got, want := u.Variant(), uuid.RFC4122; got != want {
				t.Errorf("variant of %s = %v, want %v", id, got, want)
			}
			if got, ok := reg.TopicOf(id); !ok || got != topic {
				t.Errorf("TopicOfCard(CardUUID(%q)) = %q, %v; want %q, true", topic, got, ok, topic)
			}
			sid := reg.SuggestionUUID(hook, topic, key, "x")
			if sid == id {
				t.Errorf("SuggestionUUID equals its card's uuid %s", id)
			}
			if got, ok := reg.TopicOf(sid); !ok || got != topic {
				t.Errorf("TopicOfCard(SuggestionUUID(%q)) = %q, %v; want %q, true", topic, got, ok, topic)
			}
		}
	}
	if a, b := reg.CardUUID(hook, legcramps.TopicMedication, "x"),
		reg.CardUUID("another-hook-instance", legcramps.TopicMedication, "x"); a == b {
		t.Errorf("two hook instances gave the same card uuid %s", a)
	}
}

func TestTopicOfCardRejectsForeignIDs(t *testing.T) {
	t.Parallel()
	reg := legcrampsTopics(t)
	for _, id := range []string{
		"", "not-a-uuid", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", // v4
		"urn:uuid:" + reg.CardUUID("h", legcramps.TopicMedication, "k"),
		"00000000-0000-8000-8000-00000000c507", // our magic, topic index 7: unknown
		"00000000-0000-8000-8000-00000000c500", // topic index 0
		"00000000-0000-8000-8000-00000000aa01", // wrong magic
	} {
		if topic, ok := reg.TopicOf(id); ok {
			t.Errorf("TopicOfCard(%q) = %q, true; want false", id, topic)
		}
	}
}

func TestSourceBuilder(t *testing.T) {
	t.Parallel()
	kb := loadKnowledge(t)
	reg := legcrampsTopics(t)
	sb := kit.NewSources(reg, kb.Version(), "https://cds.example.org/")
	src := sb.Source(legcramps.TopicInducingOrder, "class-x")
	if got, want := src.Label, "cramp-cds knowledge "+kb.Version(); got != want {
		t.Errorf("label = %q, want %q", got, want)
	}
	if got, want := src.URL, "https://cds.example.org/knowledge#class-x"; got != want {
		t.Errorf("url = %q, want %q", got, want)
	}
	if src.Topic == nil || src.Topic.System != kit.TopicSystem || src.Topic.Code != "cramp-inducing-order" || src.Topic.Display == "" {
		t.Errorf("topic = %+v, want system %s, code cramp-inducing-order and a display", src.Topic, kit.TopicSystem)
	}
	if got := kit.NewSources(reg, kb.Version(), "").Source(legcramps.TopicMedication, "a").URL; got != "" {
		t.Errorf("url without a public URL = %q, want none", got)
	}
}

func TestOverrideReasonsAreValidCodings(t *testing.T) {
	t.Parallel()
	rs := legcramps.MedicationOverrideReasons()
	var codes []string
	for _, r := range rs {
		codes = append(codes, r.Code)
	}
	if diff := cmp.Diff([]string{"benefit-outweighs-risk", "already-reviewed", "patient-not-taking", "not-relevant"}, codes); diff != "" {
		t.Errorf("medication override reasons (-want +got):\n%s", diff)
	}
	card := cdshooks.Card{Summary: "s", Indicator: cdshooks.IndicatorInfo, Source: cdshooks.Source{Label: "l"}, OverrideReasons: rs}
	if err := (&cdshooks.Response{Cards: []cdshooks.Card{card}}).Validate(); err != nil {
		t.Errorf("a card with the medication override reasons is invalid: %v", err)
	}
}

func TestMarkdownEscapesRecordText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Hydrochlorothiazide 25 MG Oral Tablet", "Hydrochlorothiazide 25 MG Oral Tablet"},
		{"**bold** [link](x)", `\*\*bold\*\* \[link\](x)`},
		{"# heading", `\# heading`},
		{"a\nb", "a b"},
		{"<script>", `\<script\>`},
	} {
		if got := cdshooks.Markdown(tc.in); got != tc.want {
			t.Errorf("Markdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSummaryFitsACard(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200)
	if got := []rune(cdshooks.Summary(long)); len(got) != 139 || got[138] != '…' {
		t.Errorf("Summary of 200 runes has %d runes ending %q, want 139 ending …", len(got), got[len(got)-1])
	}
	if got, want := cdshooks.Summary("short"), "short"; got != want {
		t.Errorf("Summary(short) = %q, want %q", got, want)
	}
}
