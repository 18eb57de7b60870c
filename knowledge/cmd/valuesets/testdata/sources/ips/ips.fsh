* ^expansion.contains[0].system = "http://snomed.info/sct"
* ^expansion.contains[=].code = #190855004
* ^expansion.contains[=].display = "Hypomagnesemia"
