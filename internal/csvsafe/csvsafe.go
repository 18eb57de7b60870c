// Package csvsafe neutralises CSV cells a spreadsheet would run as a
// formula (CSV injection): a cell starting with =, +, -, @, a tab or a
// carriage return gets a leading apostrophe, which spreadsheets show as
// text and do not evaluate. Every CSV the project writes from stored or
// input values passes its text cells through Cell.
package csvsafe

// Cell returns s, with a leading apostrophe when a spreadsheet would take
// it for a formula.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Cells applies Cell to each of cells, in place, and returns them.
func Cells(cells []string) []string {
	for i, c := range cells {
		cells[i] = Cell(c)
	}
	return cells
}
