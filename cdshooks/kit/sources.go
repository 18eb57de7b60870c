package kit

import (
	"strconv"
	"strings"

	"github.com/cramp-cds/cramp-cds/cdshooks"
)

// KnowledgePath is the route serving the knowledge page (HTML, or JSON on
// request) the cards' sources and links point at.
const KnowledgePath = "/knowledge"

// Sources makes the source of every card: a label naming cramp-cds and its
// knowledge version, a URL to the evidence, and the topic.
type Sources struct {
	// KnowledgeVersion is the version of the knowledge the cards come from.
	KnowledgeVersion string
	// KnowledgeURL is where the knowledge base is served read-only, e.g.
	// "https://cds.example.org/knowledge" (GET /knowledge on the API
	// listener). Empty leaves source.url out: without a public URL
	// (--public-url) we cannot name an address the clinician's browser
	// resolves, and a wrong URL is worse than none.
	KnowledgeURL string
	// Topics gives each topic code its Coding.
	Topics *Registry
}

// NewSources returns the Sources for knowledge of the given version served
// under publicURL ("" when unknown: the cards then carry no source.url).
func NewSources(topics *Registry, knowledgeVersion, publicURL string) Sources {
	s := Sources{KnowledgeVersion: knowledgeVersion, Topics: topics}
	if publicURL != "" {
		s.KnowledgeURL = strings.TrimRight(publicURL, "/") + KnowledgePath
	}
	return s
}

// Label returns the source label, "cramp-cds knowledge <version>".
func (b Sources) Label() string {
	return "cramp-cds knowledge " + b.KnowledgeVersion
}

// Source returns the source of a card of the given topic whose evidence is the
// knowledge item anchor (a fragment such as "class-thiazide-diuretics"; "" for
// the whole base). It panics on an unregistered topic: that is a programming
// error every test of the card would catch.
func (b Sources) Source(topic, anchor string) cdshooks.Source {
	t, ok := b.Topics.Topic(topic)
	if !ok {
		panic("kit: unknown card topic " + strconv.Quote(topic))
	}
	s := cdshooks.Source{Label: b.Label(), Topic: &t}
	if b.KnowledgeURL != "" {
		s.URL = b.KnowledgeURL
		if anchor != "" {
			s.URL += "#" + anchor
		}
	}
	return s
}

// Card assembles a card of topic about one knowledge-page entry (anchor):
// its source and its one link (labelled linkLabel) point there. The summary
// is taken as given: the topic fits it to its panel.
func (b Sources) Card(uuid, topic, summary, detail string, indicator cdshooks.Indicator, anchor, linkLabel string) cdshooks.Card {
	c := cdshooks.Card{
		UUID:      uuid,
		Summary:   summary,
		Detail:    detail,
		Indicator: indicator,
		Source:    b.Source(topic, anchor),
	}
	if c.Source.URL != "" {
		c.Links = []cdshooks.Link{{Label: linkLabel, URL: c.Source.URL, Type: cdshooks.LinkAbsolute}}
	}
	return c
}
