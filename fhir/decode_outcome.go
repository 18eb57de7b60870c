package fhir

// OperationOutcome: whether a search or an entry failed.

// issues reads an OperationOutcome's issue member and reports whether it
// has an error or fatal issue, or cannot be read (which counts as failed).
func (d *decoder) issues() bool {
	saved := d.bad
	defer func() { d.bad = saved }()
	d.bad = ""
	fails := false
	if !d.beginArray("issue") {
		return d.bad != ""
	}
	for d.r.More() {
		var severity string
		if d.beginObject("issue") {
			for d.r.More() {
				if name := d.r.Name(); string(name) == "severity" {
					d.str(&severity, shared, "issue.severity")
				} else {
					d.other(name, issueNames)
				}
			}
		}
		fails = fails || severity == "error" || severity == "fatal"
	}
	return fails || d.bad != ""
}
