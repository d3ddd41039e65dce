package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// jsonScanner reads JSON in one pass, the parts its caller asks for, and
// skips the rest (the export's explanation reader). It checks what it reads
// and what it skips, as strictly as it needs to stay in step: a malformed
// document fails, it never panics.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) fail(what string) error {
	return fmt.Errorf("json: %s at byte %d", what, s.i)
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume reads the byte c after white space.
func (s *jsonScanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads an object, calling member with each key, positioned at its
// value, which member must read (or skip).
func (s *jsonScanner) object(member func(key []byte) error) error {
	if !s.consume('{') {
		return s.fail("want an object")
	}
	if s.consume('}') {
		return nil
	}
	for {
		s.ws()
		key, escaped, err := s.rawString()
		if err != nil {
			return err
		}
		if escaped {
			var k string
			if err := json.Unmarshal(key, &k); err != nil {
				return s.fail("bad key")
			}
			key = []byte(k)
		} else {
			key = key[1 : len(key)-1]
		}
		if !s.consume(':') {
			return s.fail("want a colon")
		}
		if err := member(key); err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return nil
		}
		return s.fail("want a comma or the end of the object")
	}
}

// array reads an array, calling elem positioned at each element.
func (s *jsonScanner) array(elem func() error) error {
	if !s.consume('[') {
		return s.fail("want an array")
	}
	if s.consume(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume(']') {
			return nil
		}
		return s.fail("want a comma or the end of the array")
	}
}

// rawString reads a string with its quotes, and whether it holds escapes.
// It jumps from quote to quote (bytes.IndexByte) and checks the text
// between: a quote after a backslash does not end the string.
func (s *jsonScanner) rawString() ([]byte, bool, error) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, s.fail("want a string")
	}
	start, escaped := s.i, false
	for s.i++; ; {
		q := bytes.IndexByte(s.b[s.i:], '"')
		if q < 0 {
			s.i = len(s.b)
			return nil, false, s.fail("unterminated string")
		}
		text := s.b[s.i : s.i+q]
		for j, c := range text {
			if c < 0x20 {
				s.i += j
				return nil, false, s.fail("control character in a string")
			}
		}
		s.i += q + 1
		if bytes.IndexByte(text, '\\') < 0 {
			return s.b[start:s.i], escaped, nil
		}
		escaped = true
		// The quote ends the string unless an odd run of backslashes
		// comes before it.
		n := 0
		for n < len(text) && text[len(text)-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return s.b[start:s.i], escaped, nil
		}
	}
}

// str reads a string value.
func (s *jsonScanner) str() (string, error) {
	raw, escaped, err := s.rawString()
	if err != nil {
		return "", err
	}
	if !escaped && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1]), nil
	}
	// Escapes, or bytes that are not UTF-8 (which encoding/json replaces).
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", s.fail("bad string")
	}
	return out, nil
}

// name reads a string value that is one of a few names, kept in names
// (up to 1,024 of them) so that a name read again is not a new string.
func (s *jsonScanner) name(names map[string]string) (string, error) {
	start := s.i
	raw, escaped, err := s.rawString()
	if err != nil || escaped || !utf8.Valid(raw) {
		s.i = start
		return s.str() // escapes or bad bytes: as str reads them, not kept
	}
	text := raw[1 : len(raw)-1]
	if n, ok := names[string(text)]; ok { // the compiler does not copy text here
		return n, nil
	}
	n := string(text)
	if len(names) < 1024 {
		names[n] = n
	}
	return n, nil
}

// rawNumber reads a number value as its text (number checks it).
func (s *jsonScanner) rawNumber() ([]byte, error) {
	s.ws()
	n := numberLength(s.b[s.i:])
	if n == 0 {
		return nil, s.fail("want a number")
	}
	s.i += n
	return s.b[s.i-n : s.i], nil
}

// numberLength is how many bytes at the start of b can belong to a number
// (ParseFloat checks them).
func numberLength(b []byte) int {
	for i, c := range b {
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			return i
		}
	}
	return len(b)
}

// number reads a number value.
func (s *jsonScanner) number() (float64, error) {
	raw, err := s.rawNumber()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(unsafeString(raw), 64)
	if err != nil {
		return 0, s.fail("bad number")
	}
	return f, nil
}

// unsafeString views b as a string without copying it, for a parser that
// does not keep it (strconv.ParseFloat).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// boolean reads true or false.
func (s *jsonScanner) boolean() (bool, error) {
	s.ws()
	switch {
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += 4
		return true, nil
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
		return false, nil
	}
	return false, s.fail("want true or false")
}

// skip reads past any value.
func (s *jsonScanner) skip() error {
	s.ws()
	if s.i >= len(s.b) {
		return s.fail("want a value")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(func([]byte) error { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case c == '"':
		_, _, err := s.rawString()
		return err
	case c == 't' || c == 'f':
		_, err := s.boolean()
		return err
	case bytes.HasPrefix(s.b[s.i:], []byte("null")):
		s.i += 4
		return nil
	}
	_, err := s.number()
	return err
}
