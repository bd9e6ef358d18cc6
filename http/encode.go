package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"roster/account"
)

// Body size limits.
const (
	authBodyLimit    = 16 << 10 // sign-up, login and the tutorial's forms
	defaultBodyLimit = 64 << 10
)

// writeJSON writes v as the whole response body.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	buf := encodeBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // let the odd large listing go
			buf.Reset()
			encodeBuffers.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(v); err != nil { // Encode ends the body with a newline
		// Only wire types defined in this package reach here; they always marshal.
		panic(fmt.Sprintf("http: encode %T: %v", v, err))
	}
	h := w.Header()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode answers with v as application/json.
func encode(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, "application/json", v)
}

// unsupportedMediaType is the 415 for a body that is not of a type the route reads.
func unsupportedMediaType(types string) error {
	return &problemError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
		detail: "Content-Type must be " + types}
}

// decode reads a JSON object of at most limit bytes into a value of type T.
// It refuses a wrong Content-Type (415), an oversized body (413), malformed
// JSON, trailing data, duplicate or unknown fields (400) and wrong types (422).
func decode[T any](w http.ResponseWriter, r *http.Request, limit int64) (T, error) {
	var v T
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return v, unsupportedMediaType("application/json")
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		return v, err
	}
	if err := checkJSONObject(body); err != nil {
		return v, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return v, &problemError{status: http.StatusUnprocessableEntity, code: "wrong_type",
				detail: fmt.Sprintf("field %q must be of JSON type %s", te.Field, jsonKind(te.Type.Kind().String()))}
		}
		return v, badRequest(err.Error()) // unknown field: the message names it, and nothing else
	}
	return v, nil
}

// readBody reads at most limit bytes of the request body: a longer body is a
// *http.MaxBytesError (413), a broken one a 400.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if err != nil && !errors.As(err, &mbe) {
		return nil, badRequest("could not read the request body")
	}
	return body, err
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	default:
		return "number"
	}
}

// maxJSONDepth bounds nesting in request bodies; roster's requests are flat.
const maxJSONDepth = 8

// checkJSONObject accepts exactly one JSON object with no duplicate keys at
// any depth (keys that differ only in case count as duplicates), no string
// that is invalid UTF-8 or escapes an unpaired surrogate, and nothing after
// it. encoding/json alone would let the last of two duplicate keys win, which
// a proxy or validator may read differently, and would turn each invalid
// byte or lone surrogate into U+FFFD, so that two different passwords became
// one (the form routes refuse the same bytes).
func checkJSONObject(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return badRequest("request body must be a JSON object")
	}
	if tok != json.Delim('{') {
		return badRequest("request body must be a JSON object")
	}
	if err := checkObject(dec, body, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("unexpected data after the JSON object")
	}
	return nil
}

// foldKey maps every key encoding/json would match to the same struct field
// (it matches names case-insensitively under Unicode simple folding, so
// "username", "USERNAME" and "uſername" are one field) to one string.
func foldKey(key string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, key)
}

// checkObject walks the members of an object whose '{' was just read from
// body.
func checkObject(dec *json.Decoder, body []byte, depth int) error {
	seen := map[string]bool{}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return badRequest("malformed JSON")
		}
		if !validJSONText(body[start:dec.InputOffset()]) {
			return &problemError{status: http.StatusUnprocessableEntity, code: "invalid_encoding",
				detail: "a field name is not valid UTF-8"}
		}
		key := tok.(string) // object keys are always strings
		if seen[foldKey(key)] {
			return badRequest(fmt.Sprintf("duplicate field %q", key))
		}
		seen[foldKey(key)] = true
		if err := checkValue(dec, body, depth, key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return badRequest("malformed JSON")
	}
	return nil
}

// checkValue walks the value of field, which comes next in body.
func checkValue(dec *json.Decoder, body []byte, depth int, field string) error {
	start := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return badRequest("malformed JSON")
	}
	if _, ok := tok.(string); ok && !validJSONText(body[start:dec.InputOffset()]) {
		// Worded as the form routes word it.
		return &account.ValidationError{Code: "invalid_encoding",
			Errors: []account.FieldError{{Field: field, Message: "is not valid UTF-8"}}}
	}
	switch tok {
	case json.Delim('{'), json.Delim('['):
		if depth >= maxJSONDepth {
			return badRequest("JSON nested too deeply")
		}
		if tok == json.Delim('{') {
			return checkObject(dec, body, depth+1)
		}
		for dec.More() {
			if err := checkValue(dec, body, depth+1, field); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return badRequest("malformed JSON")
		}
	}
	return nil
}

// validJSONText reports whether raw, the input up to and including a string
// token, is valid UTF-8 and escapes no unpaired UTF-16 surrogate. A backslash
// can only stand in a string here: the decoder has accepted the token.
func validJSONText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character; a \u escape is followed by 4 hex digits
		if raw[i] != 'u' {
			continue
		}
		switch r := hex4(raw[i+1:]); {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate with no high one before it
		case r >= 0xD800 && r <= 0xDBFF:
			if i+10 >= len(raw) || raw[i+5] != '\\' || raw[i+6] != 'u' {
				return false
			}
			if lo := hex4(raw[i+7:]); lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 10
		default:
			i += 4
		}
	}
	return true
}

// hex4 is the value of the 4 hex digits b starts with.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(n)
}
