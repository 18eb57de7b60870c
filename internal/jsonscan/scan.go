// Package jsonscan reads JSON in one pass over its bytes, for decoders that
// build their own values straight from it.
//
// A Reader is a pull parser: the caller asks for the next value as the type
// it expects, and matches member names itself, exactly (JSON and FHIR member
// names are case-sensitive; encoding/json folds case). It accepts exactly
// the documents encoding/json accepts (RFC 8259, nesting at most MaxDepth),
// and reads strings as encoding/json does: invalid UTF-8 and lone surrogates
// become U+FFFD.
//
// Two kinds of trouble differ. A syntax error stops the Reader for good: every
// later call returns a zero value, and Err reports it. A value of another
// type than asked for is skipped, so the caller can note it and go on
// reading the rest of the document.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects a Reader accepts,
// as encoding/json's.
const MaxDepth = 10000

// Kind is the kind of a JSON value.
type Kind byte

// The kinds of values; Invalid stands for a syntax error or the end of input.
const (
	Invalid Kind = iota
	Object
	Array
	String
	Number
	Bool
	Null
)

// SyntaxError says where and why the input is not JSON.
type SyntaxError struct {
	Offset int // byte offset of the error
	msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.msg
}

// Reader reads one JSON document. The zero value is not usable; call New.
type Reader struct {
	data  []byte
	i     int
	err   error
	first bool   // just after '{' or '[': no comma is due before the next member
	stack []byte // the open containers, '{' or '['
	buf   []byte // scratch for unescaped member names
}

// New returns a Reader over data, which it never modifies nor keeps beyond
// the Reader's life (strings it returns are copies).
func New(data []byte) *Reader {
	return &Reader{data: data, stack: make([]byte, 0, 16)}
}

// Err returns the syntax error that stopped the Reader, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns how many bytes have been read.
func (r *Reader) Offset() int { return r.i }

func (r *Reader) fail(msg string) {
	if r.err == nil {
		r.err = &SyntaxError{Offset: r.i, msg: msg}
	}
	r.i = len(r.data)
}

// space skips whitespace and returns the next byte, or 0 at the end (a NUL
// byte also gives 0: check r.i when that matters).
func (r *Reader) space() byte {
	if r.i = skipSpace(r.data, r.i); r.i < len(r.data) {
		return r.data[r.i]
	}
	return 0
}

// Kind returns the kind of the next value without reading it.
func (r *Reader) Kind() Kind {
	if r.err != nil {
		return Invalid
	}
	switch r.space() {
	case '{':
		return Object
	case '[':
		return Array
	case '"':
		return String
	case 't', 'f':
		return Bool
	case 'n':
		return Null
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return Number
	}
	return Invalid
}

// End reports whether only whitespace is left after the document. A Reader
// that stopped on a syntax error is not at a good end.
func (r *Reader) End() bool {
	if r.err != nil {
		return false
	}
	if r.space(); r.i < len(r.data) {
		r.fail("data after the JSON value")
		return false
	}
	return true
}

func (r *Reader) open(c byte) bool {
	if len(r.stack) >= MaxDepth {
		r.fail("nesting deeper than " + strconv.Itoa(MaxDepth))
		return false
	}
	r.stack = append(r.stack, c)
	r.i++
	r.first = true
	return true
}

// BeginObject reads the '{' of an object and reports true; when the next
// value is not an object it is skipped and BeginObject reports false. Read
// the members with More and Name.
func (r *Reader) BeginObject() bool {
	if r.Kind() != Object {
		r.Skip()
		return false
	}
	return r.open('{')
}

// BeginArray reads the '[' of an array and reports true; when the next
// value is not an array it is skipped and BeginArray reports false. Read the
// elements with More.
func (r *Reader) BeginArray() bool {
	if r.Kind() != Array {
		r.Skip()
		return false
	}
	return r.open('[')
}

// More reports whether the innermost open object or array has another member
// or element, reading the comma before it; at the end it reads the closing
// bracket and reports false.
func (r *Reader) More() bool {
	if r.err != nil || len(r.stack) == 0 {
		return false
	}
	open := r.stack[len(r.stack)-1]
	c := r.space()
	if c == '}' && open == '{' || c == ']' && open == '[' {
		r.i++
		r.stack = r.stack[:len(r.stack)-1]
		r.first = false
		return false
	}
	if r.first {
		r.first = false
		return true
	}
	if c != ',' {
		r.fail("missing comma or closing bracket")
		return false
	}
	r.i++
	return true
}

// Name reads a member name and its colon. The bytes are valid until the next
// call on the Reader.
func (r *Reader) Name() []byte {
	if r.err != nil {
		return nil
	}
	if r.space() != '"' {
		r.fail("member name is not a string")
		return nil
	}
	name := r.str(&r.buf)
	if r.space() != ':' {
		r.fail("missing colon after member name")
		return nil
	}
	r.i++
	return name
}

// Null reads the next value and reports true when it is null; otherwise it
// reads nothing and reports false.
func (r *Reader) Null() bool {
	if r.Kind() != Null {
		return false
	}
	r.literal("null")
	return r.err == nil
}

// String reads a string value. When the next value is of another kind it is
// skipped and ok is false.
func (r *Reader) String() (s string, ok bool) {
	b, ok := r.StringBytes()
	return string(b), ok
}

// StringBytes reads a string value as String does, without copying it: the
// bytes are valid until the next call on the Reader. It lets a caller that
// meets the same strings again and again (codes, systems, units) keep one
// copy of each.
func (r *Reader) StringBytes() (b []byte, ok bool) {
	if r.Kind() != String {
		r.Skip()
		return nil, false
	}
	b = r.str(&r.buf)
	return b, r.err == nil
}

// Number reads a number and returns its text. When the next value is of
// another kind it is skipped and ok is false.
func (r *Reader) Number() (text []byte, ok bool) {
	if r.Kind() != Number {
		r.Skip()
		return nil, false
	}
	start := r.i
	r.number()
	return r.data[start:r.i], r.err == nil
}

// Bool reads true or false. When the next value is of another kind it is
// skipped and ok is false.
func (r *Reader) Bool() (v, ok bool) {
	if r.Kind() != Bool {
		r.Skip()
		return false, false
	}
	if r.data[r.i] == 't' {
		r.literal("true")
		return true, r.err == nil
	}
	r.literal("false")
	return false, r.err == nil
}

// Skip reads the next value, whatever its kind, checking its syntax. The
// envelope of a request finds where each prefetch value ends with it, so it
// runs over every byte of a body: it is one loop over local indices, not
// the typed calls, and a closing bracket is its opening one plus two
// ('{'+2 is '}', '['+2 is ']').
func (r *Reader) Skip() {
	if r.err != nil {
		return
	}
	d, i, stack := r.data, r.i, r.stack
	base := len(stack)
	var msg string
value:
	i = skipSpace(d, i)
	if i >= len(d) {
		msg = "unexpected end of JSON input"
		goto fail
	}
	switch c := d[i]; c {
	case '{', '[':
		if len(stack) >= MaxDepth {
			msg = "nesting deeper than " + strconv.Itoa(MaxDepth)
			goto fail
		}
		stack = append(stack, c)
		if i = skipSpace(d, i+1); i < len(d) && d[i] == c+2 {
			i++
			stack = stack[:len(stack)-1]
			break
		}
		if c == '{' {
			goto name
		}
		goto value
	case '"':
		if i, msg = skipString(d, i); msg != "" {
			goto fail
		}
	case 't', 'f', 'n':
		lit := literals[c]
		if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
			msg = "invalid literal"
			goto fail
		}
		i += len(lit)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var ok bool
		if i, ok = scanNumber(d, i); !ok {
			msg = "invalid number"
			goto fail
		}
	default:
		msg = "invalid character " + strconv.QuoteRune(rune(c)) + " looking for a value"
		goto fail
	}
	// After a value: close what it ends, or read the comma before the next
	// member or element.
	for len(stack) > base {
		if i = skipSpace(d, i); i >= len(d) {
			msg = "unexpected end of JSON input"
			goto fail
		}
		top := stack[len(stack)-1]
		if d[i] == top+2 {
			i++
			stack = stack[:len(stack)-1]
			continue
		}
		if d[i] != ',' {
			msg = "missing comma or closing bracket"
			goto fail
		}
		i++
		if top == '{' {
			goto name
		}
		goto value
	}
	r.i, r.stack, r.first = i, stack, false
	return
name:
	if i = skipSpace(d, i); i >= len(d) || d[i] != '"' {
		msg = "member name is not a string"
		goto fail
	}
	if i, msg = skipString(d, i); msg != "" {
		goto fail
	}
	if i = skipSpace(d, i); i >= len(d) || d[i] != ':' {
		msg = "missing colon after member name"
		goto fail
	}
	i++
	goto value
fail:
	r.i, r.stack = i, stack
	r.fail(msg)
}

// literals are the literal values by their first byte.
var literals = [256]string{'t': "true", 'f': "false", 'n': "null"}

// skipSpace returns the index of the first byte from i on that is not
// whitespace (len(d) when none is).
func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Raw reads the next value and returns its bytes, as they stand in the input.
func (r *Reader) Raw() []byte {
	r.space()
	start := r.i
	r.Skip()
	if r.err != nil {
		return nil
	}
	return r.data[start:r.i]
}

func (r *Reader) literal(want string) {
	if len(r.data)-r.i < len(want) || string(r.data[r.i:r.i+len(want)]) != want {
		r.fail("invalid literal")
		return
	}
	r.i += len(want)
}

// number reads a number of the JSON grammar at r.i.
func (r *Reader) number() {
	i, ok := scanNumber(r.data, r.i)
	r.i = i
	if !ok {
		r.fail("invalid number")
	}
}

// scanNumber returns the end of the number of the JSON grammar at i, or
// where it stops being one and false.
func scanNumber(d []byte, i int) (int, bool) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j < 0 {
			return i, false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j < 0 {
			return i, false
		}
		i = j
	}
	return i, true
}

// digits moves past one or more digits from i, or returns -1 when there is none.
func digits(d []byte, i int) int {
	if i >= len(d) || d[i] < '0' || d[i] > '9' {
		return -1
	}
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// plain marks the bytes a string may hold as they are: not '"', '\\', a
// control character or a byte of a multi-byte UTF-8 sequence.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Strings are looked at eight bytes at a time, as one little-endian
// uint64 w, in the high bit of each byte.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stops flags the bytes of w that end a string or need a closer look: '"',
// '\\' and control characters. Only the lowest flag is sure to be exact (a
// borrow may flag bytes above a true one), which is all leading reads.
func stops(w uint64) uint64 {
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q - ones) &^ q) | ((b - ones) &^ b) | ((w - ones*0x20) &^ w)
}

// leading counts the bytes of a word before its first flagged one (8 when
// none is).
func leading(flags uint64) int { return bits.TrailingZeros64(flags&highs) / 8 }

// skipString returns the end of the string that starts at d[i], checking
// its escapes, or where it fails and why.
func skipString(d []byte, i int) (int, string) {
	i++
	for i < len(d) {
		// Eight bytes at a time while none of them ends the string or starts
		// an escape; bytes of 0x80 and up are taken as they are (invalid
		// UTF-8 is read as U+FFFD, never refused).
		for len(d)-i >= 8 {
			if n := leading(stops(binary.LittleEndian.Uint64(d[i:]))); n < 8 {
				i += n
				break
			}
			i += 8
		}
		if i >= len(d) {
			break
		}
		c := d[i]
		switch {
		case plain[c] || c >= 0x80:
			i++
		case c == '"':
			return i + 1, ""
		case c == '\\':
			n := escapeLen(d[i:])
			if n == 0 {
				return i, "invalid escape in string"
			}
			i += n
		default:
			return i, "control character in string"
		}
	}
	return i, "unexpected end of JSON input in string"
}

// escapeLen returns the length of the escape sequence at the start of b, or
// 0 when it is not one.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) < 6 {
			return 0
		}
		for _, h := range b[2:6] {
			if hexVal(h) < 0 {
				return 0
			}
		}
		return 6
	}
	return 0
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// str reads the string at r.i and returns its value: a slice of the input
// when it holds nothing to unescape or replace, else the value built in
// *scratch.
func (r *Reader) str(scratch *[]byte) []byte {
	d := r.data
	start := r.i + 1
	i := start
	for i < len(d) {
		for len(d)-i >= 8 {
			// Bytes of 0x80 and up need a UTF-8 check: flag them too.
			w := binary.LittleEndian.Uint64(d[i:])
			if n := leading(stops(w) | w); n < 8 {
				i += n
				break
			}
			i += 8
		}
		if i >= len(d) {
			break
		}
		if c := d[i]; plain[c] {
			i++
			continue
		} else if c < 0x80 {
			break
		}
		if ru, size := utf8.DecodeRune(d[i:]); ru != utf8.RuneError || size != 1 {
			i += size
			continue
		}
		break
	}
	if i < len(d) && d[i] == '"' {
		r.i = i + 1
		return d[start:i]
	}
	out := append((*scratch)[:0], d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case plain[c]:
			out = append(out, c)
			i++
		case c == '"':
			r.i = i + 1
			*scratch = out
			return out
		case c >= 0x80:
			ru, size := utf8.DecodeRune(d[i:])
			if ru == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, d[i:i+size]...)
			}
			i += size
		case c == '\\':
			n := escapeLen(d[i:])
			if n == 0 {
				r.i = i
				r.fail("invalid escape in string")
				return nil
			}
			if n == 2 {
				out = append(out, unescape[d[i+1]])
				i += 2
				continue
			}
			ru := hex4(d[i+2:])
			i += 6
			if utf16.IsSurrogate(ru) {
				// A high surrogate followed by an escaped low one is one rune;
				// anything else is U+FFFD, as encoding/json reads it.
				if len(d)-i >= 6 && d[i] == '\\' && d[i+1] == 'u' && escapeLen(d[i:]) == 6 {
					if pair := utf16.DecodeRune(ru, hex4(d[i+2:])); pair != utf8.RuneError {
						out = utf8.AppendRune(out, pair)
						i += 6
						continue
					}
				}
				ru = utf8.RuneError
			}
			out = utf8.AppendRune(out, ru)
		default:
			r.i = i
			r.fail("control character in string")
			return nil
		}
	}
	r.i = i
	r.fail("unexpected end of JSON input in string")
	return nil
}

var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func hex4(b []byte) rune {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}

// Mark is a position of a Reader, to come back to with Reset.
type Mark struct {
	i, depth int
	first    bool
}

// Mark returns the Reader's position.
func (r *Reader) Mark() Mark { return Mark{i: r.i, depth: len(r.stack), first: r.first} }

// Reset goes back to a position marked inside the same value, to read it
// again (for example once a member read later says how to read it).
func (r *Reader) Reset(m Mark) {
	if r.err != nil {
		return
	}
	r.i, r.first = m.i, m.first
	r.stack = r.stack[:m.depth]
}
