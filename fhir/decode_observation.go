package fhir

// Observation: a result, its status, time, value and reference ranges.

type observationBody struct {
	status            string // the code; "registered" when absent, as the library reads it
	hasStatus         bool   // a status code was given
	code              concept
	effectiveDateTime optString
	effectivePeriod   *period
	effectiveInstant  optString
	issued            optString
	value             *quantity
	interpretation    []concept
	referenceRange    [][2]*quantity
}

// observationStatuses are the codes of Observation.status's required
// binding; any other makes the Observation unreadable, as it did for
// golang-fhir-models.
var observationStatuses = map[string]bool{"registered": true, "preliminary": true, "final": true, "amended": true,
	"corrected": true, "cancelled": true, "entered-in-error": true, "unknown": true}

func (d *decoder) observationMember(o *observationBody, name []byte) bool {
	switch n := string(name); n {
	case "status":
		// A required binding of value type: null reaches the library's
		// decoder, which refuses it like any unknown code.
		if d.r.Null() {
			d.fail("does not decode as FHIR R4: unknown ObservationStatus code")
			return true
		}
		var s optString
		d.code(&s, observationStatuses, "status")
		if s.has {
			o.status, o.hasStatus = s.v, true
		}
	case "code":
		d.concept(&o.code, n)
	case "effectiveDateTime":
		d.optStr(&o.effectiveDateTime, fresh, n)
	case "effectivePeriod":
		d.period(&o.effectivePeriod, n)
	case "effectiveInstant":
		d.optStr(&o.effectiveInstant, fresh, n)
	case "issued":
		d.optStr(&o.issued, fresh, n)
	case "valueQuantity":
		d.quantity(&o.value, n)
	case "interpretation":
		o.interpretation = d.concepts(o.interpretation[:0], n)
	case "referenceRange":
		o.referenceRange = o.referenceRange[:0]
		if !d.beginArray(n) {
			return true
		}
		for d.r.More() {
			var lh [2]*quantity
			if d.beginObject("referenceRange") {
				for d.r.More() {
					switch name := d.r.Name(); string(name) {
					case "low":
						d.quantity(&lh[0], "referenceRange.low")
					case "high":
						d.quantity(&lh[1], "referenceRange.high")
					default:
						d.other(name, rangeNames)
					}
				}
			}
			o.referenceRange = append(o.referenceRange, lh)
		}
	default:
		return false
	}
	return true
}
