package fhir

// Medication: the drug a medicationReference names, and its ingredients.

type medicationBody struct {
	code        *concept
	ingredients []concept
}

func (d *decoder) medicationMember(md *medicationBody, name []byte) bool {
	switch string(name) {
	case "code":
		d.optConcept(&md.code, "code")
	case "ingredient":
		md.ingredients = md.ingredients[:0]
		if !d.beginArray("ingredient") {
			return true
		}
		for d.r.More() {
			var c concept
			if d.beginObject("ingredient") {
				for d.r.More() {
					if name := d.r.Name(); string(name) == "itemCodeableConcept" {
						d.concept(&c, "ingredient.itemCodeableConcept")
					} else {
						d.other(name, ingredientName)
					}
				}
			}
			md.ingredients = append(md.ingredients, c)
		}
	default:
		return false
	}
	return true
}
