package handlers

import (
	"strings"
	"unicode/utf8"
)

// formulaStarts are the characters that make a spreadsheet read a cell as
// a formula (or shift it into one): =, +, -, @, tab and carriage return,
// and the full-width forms of the first four, which some spreadsheets
// fold to them.
const formulaStarts = "=+-@\t\r＝＋－＠"

// safeCell makes a text cell of an exported CSV file safe to open in a
// spreadsheet: a cell whose first character, also after leading spaces, is
// one of formulaStarts gets a leading single quote, which spreadsheets show
// as text. Other cells are unchanged.
func safeCell(s string) string {
	t := strings.TrimLeft(s, " ")
	if r, _ := utf8.DecodeRuneInString(t); t != "" && strings.ContainsRune(formulaStarts, r) {
		return "'" + s
	}
	return s
}

// unsafeCell undoes safeCell on a cell read back from a file Sentinel
// exported: a single quote that safeCell would have added is dropped.
func unsafeCell(s string) string {
	if rest, ok := strings.CutPrefix(s, "'"); ok && safeCell(rest) != rest {
		return rest
	}
	return s
}
